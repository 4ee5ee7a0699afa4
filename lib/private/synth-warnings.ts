import { IConstruct } from 'constructs';

/**
 * The synth warnings under `root`, each as `<construct path>: <message>`, the way `npm run synth`
 * prints them. The messages leave the path out: the cdktf CLI prints it before each
 * (`WARN [<construct path>]: <message>`), so a message naming it too showed it twice.
 */
export function synthWarnings(root: IConstruct): string[] {
  return root.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === '@cdktf/warn')
        .map((entry) => (construct.node.path ? `${construct.node.path}: ${String(entry.data)}` : String(entry.data))),
    );
}
