import type { World } from '../world/world';
import type { TokenAuthority } from './auth';
import type { Faults } from './faults';
import type { LroManager } from './lro';
import type { RequestLog } from './requestLog';
import type { Router } from './router';

/** What route families get: the world, and the stand-in's machinery. */
export interface ArmContext {
  world: World;
  lro: LroManager;
  faults: Faults;
  requests: RequestLog;
  tokens: TokenAuthority;
}

/** Registers one resource family's routes (one file per family under routes/). */
export type RouteFamily = (router: Router, ctx: ArmContext) => void;
