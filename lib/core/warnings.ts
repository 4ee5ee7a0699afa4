import { AnnotationMetadataEntryType, Annotations, TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { closestMatch } from '../plan/suggest';
import { requireArgument } from '../private/required-fields';

/**
 * The id of every warning the library leaves at synth, printed after its message (`[ack: <id>]`).
 * docs/warnings.md says what each means and how to fix or acknowledge it ({@link acknowledgeWarnings}).
 */
export const WARNING_IDS = [
  'migration:acknowledgement:unused',
  'migration:credential-vault:access-policies',
  'migration:data-factory:sql-pipelines-elsewhere',
  'migration:dag-storage:storage-use-azuread',
  'migration:external-host:no-federated-credentials',
  'migration:fabric:large-pool-on-small-capacity',
  'migration:fabric:large-starter-pool',
  'migration:fabric:provider-secrets',
  'migration:kubernetes:direct-sql-own-vnet',
  'migration:kubernetes:no-sign-in',
  'migration:monitoring:no-email-receivers',
  'migration:monitoring:workspace-options-ignored',
  'migration:operator-role:target-reference',
  'migration:plan:cutover-windows-past',
  'migration:plan:source-writes-during-copy',
  'migration:region:unknown',
  'migration:secure-default:airflowLogs',
  'migration:secure-default:httpsOnly',
  'migration:secure-default:localAuthenticationEnabled',
  'migration:secure-default:networkPoliciesEnabled',
  'migration:secure-default:preventDestroy',
  'migration:secure-default:publicBlobAccess',
  'migration:secure-default:runCommandEnabled',
  'migration:secure-default:servicePrincipal',
  'migration:secure-default:sharedAccessKeyEnabled',
  'migration:secure-default:softDeleteRetentionInDays',
  'migration:secure-default:versioningEnabled',
  'migration:state:local-state-in-build-output',
  'migration:state:local-state-in-two-places',
  'migration:state:path-in-build-output',
  'migration:tfc:fabric-local-exec',
  'migration:tfc:kubelogin',
] as const;

/** One of {@link WARNING_IDS}. */
export type WarningId = (typeof WARNING_IDS)[number];

/** The props whose weakening `secureDefault` warns about, each with its `migration:secure-default:<prop>` id. */
export type SecureDefaultProp = WarningId extends infer Id ? (Id extends `migration:secure-default:${infer Prop}` ? Prop : never) : never;

/** Warns that an acknowledgement matched nothing; itself never acknowledged: fix or remove the acknowledgement instead. */
const UNUSED: WarningId = 'migration:acknowledgement:unused';

/** One id acknowledged by one call, shared by every scope it covers (a stack's acknowledgements cover its release stacks too). */
export interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
  readonly scopes: IConstruct[];
  used: boolean;
  reported: boolean;
  /** Replaced by a later acknowledgement of the same id on the same scope, which then answers for it. */
  superseded: boolean;
}

const ACKNOWLEDGEMENTS = new WeakMap<IConstruct, Map<string, Acknowledgement>>();
const STACK_ACKNOWLEDGEMENTS = new WeakMap<TerraformStack, Set<Acknowledgement>>();
const CHECKS_PLACED = new WeakSet<IConstruct>();
const ACK_SUFFIX = / \[ack: ([^\]\s]+)\]$/;

/**
 * Leaves a synth warning on `scope`, with its id, or an info naming the id and the reason when
 * `scope` or a construct above it acknowledged that id: overriding is allowed, silence is not.
 */
export function warn(scope: IConstruct, id: WarningId, message: string): void {
  const text = `${message} [ack: ${id}]`;
  const covering = scope.node.scopes
    .slice()
    .reverse()
    .flatMap((each) => ACKNOWLEDGEMENTS.get(each)?.get(id) ?? []);
  if (covering.length === 0) {
    Annotations.of(scope).addWarning(text);
    return;
  }
  covering.forEach((acknowledgement) => (acknowledgement.used = true));
  Annotations.of(scope).addInfo(acknowledged(text, covering[0].reason));
}

const acknowledged = (text: string, reason: string) => `${text} acknowledged: ${reason}`;

/**
 * Records that the warnings of these ids under `scope` are meant: each becomes an info naming its
 * id and the reason, at synth and in `cdktf synth`'s output, already left ones included. An id
 * no construct under `scope` warns with (a typo, a warning since gone) is a warning of its own,
 * `migration:acknowledgement:unused`, when the stack synthesizes. `DatabaseMigrationStack` takes the
 * same as its `acknowledgeWarnings` prop.
 *
 * ```ts
 * acknowledgeWarnings(stack, { 'migration:secure-default:preventDestroy': 'throwaway test environment, rebuilt nightly' });
 * ```
 * @param scope a construct in a stack, or the stack: the acknowledgement covers it and everything under it
 * @param acknowledgements warning id to the reason it is meant (a non-empty string)
 */
export function acknowledgeWarnings(scope: IConstruct, acknowledgements: Readonly<Record<string, string>>): void {
  const smallestCall = "acknowledgeWarnings(stack, { 'migration:tfc:kubelogin': '<why this is meant>' })";
  requireArgument('acknowledgeWarnings', scope, Construct.isConstruct, 'the construct the acknowledgements cover', smallestCall);
  const problems = acknowledgementProblems(acknowledgements, 'acknowledgements');
  if (problems.length > 0) throw new Error(`${scope.node.path || '<app>'}: acknowledgeWarnings: ${problems.join('; ')}`);
  if (!scope.node.scopes.some(TerraformStack.isStack)) {
    throw new Error(`${scope.node.path || '<app>'}: acknowledgeWarnings needs a stack or a construct in one; acknowledge in each stack instead`);
  }
  acknowledgeIn([scope], acknowledgements);
}

/**
 * The problems of an acknowledgements object, each with its field path under `path`: an object of
 * reasons, each a non-empty string, and not for `migration:acknowledgement:unused`.
 */
export function acknowledgementProblems(value: unknown, path: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${path} must be an object of warning id to reason (got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value})`];
  }
  return Object.entries(value).flatMap(([id, reason]) => {
    const at = `${path}[${JSON.stringify(id)}]`;
    if (id === UNUSED) return [`${at}: ${UNUSED} cannot be acknowledged: fix or remove the acknowledgement it names`];
    if (typeof reason !== 'string' || reason.trim() === '') return [`${at} must be the reason the warning is meant, a non-empty string (got ${JSON.stringify(reason) ?? typeof reason})`];
    return [];
  });
}

/** Acknowledges checked `acknowledgements` under each of `scopes` (a stack and its release stacks), one record per id. */
export function acknowledgeIn(scopes: readonly IConstruct[], acknowledgements: Readonly<Record<string, string>>): Acknowledgement[] {
  return Object.entries(acknowledgements).map(([id, reason]) => {
    const acknowledgement: Acknowledgement = { id, reason, scopes: [], used: false, reported: false, superseded: false };
    scopes.forEach((scope) => coverAlso(acknowledgement, scope));
    return acknowledgement;
  });
}

/** Extends an acknowledgement to another scope (the release stack a DatabaseMigrationStack creates). */
export function coverAlso(acknowledgement: Acknowledgement, scope: IConstruct): void {
  acknowledgement.scopes.push(scope);
  const byId = ACKNOWLEDGEMENTS.get(scope) ?? new Map<string, Acknowledgement>();
  ACKNOWLEDGEMENTS.set(scope, byId);
  const replaced = byId.get(acknowledgement.id);
  if (replaced) replaced.superseded = true;
  byId.set(acknowledgement.id, acknowledgement);
  acknowledgeLeftWarnings(scope, acknowledgement);
  const stack = TerraformStack.of(scope);
  const inStack = STACK_ACKNOWLEDGEMENTS.get(stack);
  if (inStack) {
    inStack.add(acknowledgement);
    return;
  }
  STACK_ACKNOWLEDGEMENTS.set(stack, new Set([acknowledgement]));
  stack.node.addValidation({ validate: () => checkLast(stack) });
}

/**
 * The warnings of that id left under `scope` before it was acknowledged, turned into the info `warn` leaves after;
 * and the infos an earlier acknowledgement of that id left there, which this one now answers for, given its reason.
 */
function acknowledgeLeftWarnings(scope: IConstruct, acknowledgement: Acknowledgement): void {
  const acknowledgedMarker = ` [ack: ${acknowledgement.id}] acknowledged: `;
  for (const construct of scope.node.findAll()) {
    // node.metadata is a copy of the list, of the entries themselves: constructs can add an entry but not replace one.
    for (const entry of construct.node.metadata as { type: string; data: unknown }[]) {
      if (typeof entry.data !== 'string') continue;
      if (entry.type === AnnotationMetadataEntryType.WARN && ACK_SUFFIX.exec(entry.data)?.[1] === acknowledgement.id) {
        entry.type = AnnotationMetadataEntryType.INFO;
        entry.data = acknowledged(entry.data, acknowledgement.reason);
        acknowledgement.used = true;
      } else if (entry.type === AnnotationMetadataEntryType.INFO && entry.data.includes(acknowledgedMarker) && nearestCovering(construct, acknowledgement.id) === acknowledgement) {
        entry.data = entry.data.slice(0, entry.data.indexOf(acknowledgedMarker) + acknowledgedMarker.length) + acknowledgement.reason;
        acknowledgement.used = true;
      }
    }
  }
}

/** The acknowledgement of `id` on `construct` or the construct nearest above it that has one. */
function nearestCovering(construct: IConstruct, id: string): Acknowledgement | undefined {
  return construct.node.scopes
    .slice()
    .reverse()
    .map((each) => ACKNOWLEDGEMENTS.get(each)?.get(id))
    .find((each) => each !== undefined);
}

/**
 * runAllValidations visits a stack's constructs in preorder, the stack first, and some warnings are
 * left by the validations of constructs under it: the check of unused acknowledgements goes last.
 */
function checkLast(stack: TerraformStack): string[] {
  const constructs = stack.node.findAll();
  const last = constructs[constructs.length - 1];
  if (last === stack) {
    reportUnused(stack);
  } else if (!CHECKS_PLACED.has(last)) {
    CHECKS_PLACED.add(last);
    last.node.addValidation({ validate: () => (reportUnused(stack), []) });
  }
  return [];
}

function reportUnused(stack: TerraformStack): void {
  const order = stack.node.root.node.findAll().filter(TerraformStack.isStack);
  for (const acknowledgement of STACK_ACKNOWLEDGEMENTS.get(stack) ?? []) {
    if (acknowledgement.used || acknowledgement.reported || acknowledgement.superseded) continue;
    // Shared with later stacks (a release stack, synthesized after): the last of them reports it, when all have warned.
    // An id of no warning waits for none, and is named where it was given: the first of them.
    const known = (WARNING_IDS as readonly string[]).includes(acknowledgement.id);
    const stacks = acknowledgement.scopes.map((scope) => TerraformStack.of(scope));
    const inOrder = [...stacks].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const reportingStack = known ? inOrder[inOrder.length - 1] : inOrder[0];
    if (reportingStack !== stack) continue;
    acknowledgement.reported = true;
    const scope = acknowledgement.scopes.find((each) => TerraformStack.of(each) === stack)!;
    const meant = known ? undefined : closestMatch(acknowledgement.id, WARNING_IDS);
    // Reported in the last stack (the earlier ones' warnings are printed already), but given in the first: name them all.
    const where = acknowledgement.scopes.length === 1 ? 'here or under it' : `in ${acknowledgement.scopes.map((each) => each.node.path).join(' or ')}`;
    warn(
      scope,
      UNUSED,
      known
        ? `acknowledgeWarnings names ${acknowledgement.id}, which nothing ${where} warned with: remove the acknowledgement, or fix its id`
        : `acknowledgeWarnings names ${acknowledgement.id}, which is no warning id of this library (${meant === undefined ? '' : `did you mean ${meant}? `}docs/warnings.md lists them): fix the id, or remove the acknowledgement`,
    );
  }
}
