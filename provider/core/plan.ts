/** A plan is the list of steps an operation will take, printed in preview and followed by up. */
export interface Step {
  /** Short verb phrase: "switch to synchronous commit on the managed instance (ARM PATCH)". */
  action: string;
  /** Cannot be undone (cutover, completing a restore). */
  irreversible?: boolean;
  /** Drops something (a database being restored, an availability group). */
  destructive?: boolean;
  /** May lose committed transactions. */
  dataLoss?: boolean;
}

/** Steps that happen only if a value not known in preview turns out a certain way. */
export function conditional(condition: string, steps: Step[]): Step[] {
  return steps.map((s) => ({ ...s, action: `if ${condition}: ${s.action}` }));
}

export function formatPlan(title: string, steps: Step[]): string {
  if (steps.length === 0) return `${title}: nothing to do`;
  const lines = steps.map((s, i) => {
    const marks = [
      s.dataLoss ? 'DATA LOSS POSSIBLE' : undefined,
      s.destructive ? 'DESTRUCTIVE' : undefined,
      s.irreversible ? 'IRREVERSIBLE' : undefined,
    ].filter(Boolean);
    return `  ${i + 1}. ${s.action}${marks.length ? `  [${marks.join(', ')}]` : ''}`;
  });
  return [`${title}:`, ...lines].join('\n');
}
