import type * as pulumi from '@pulumi/pulumi';

/**
 * Builds the dynamic provider object that Pulumi serializes into the state as `__provider`. It captures
 * nothing but the resource kind: each method loads the implementation by package name when it runs, in
 * the provider host started in the program's directory. Credentials are never captured; they come from
 * the environment at run time.
 */
export function makeProvider(kind: string): pulumi.dynamic.ResourceProvider {
  const impl = () => require('pulumi-sqlmi-migration/provider')[kind];
  return {
    check: (olds, news) => impl().check(olds, news),
    diff: (id, olds, news) => impl().diff(id, olds, news),
    create: (inputs) => impl().create(inputs),
    read: (id, props) => impl().read(id, props),
    update: (id, olds, news) => impl().update(id, olds, news),
    delete: (id, props) => impl().delete(id, props),
  };
}
