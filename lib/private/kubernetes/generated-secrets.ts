import { Fn, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { TerraformData } from '../terraform-data';

/** Shapes of generated values, each from Terraform's own functions (no random provider). */
export type SecretShape =
  /** 73 characters: two UUIDs, one upper-cased (lower, upper, digits, `-`, `_`), URL-safe. */
  | 'password'
  /** Fernet key: URL-safe base64 of 32 bytes (a SHA-256 over two UUIDs). */
  | 'fernetKey'
  /** 64 hex characters (a SHA-256 over two UUIDs), for Flask and JWT signing keys. */
  | 'signingKey';

const EXPRESSIONS: Record<SecretShape, () => string> = {
  password: () => Fn.format('%s_%s', [Fn.uuid(), Fn.upper(Fn.uuid())]),
  fernetKey: () => Fn.replace(Fn.replace(Fn.base64sha256(Fn.join('', [Fn.uuid(), Fn.uuid()])), '+', '-'), '/', '_'),
  signingKey: () => Fn.sha256(Fn.join('', [Fn.uuid(), Fn.uuid()])),
};

/**
 * Secrets Terraform generates without ever storing them. `uuid()` is 128 random bits from
 * hashicorp/go-uuid (Terraform's lang/funcs/crypto.go), which reads crypto/rand. Each value lives
 * in a local, which Terraform keeps neither in the state nor in a plan file, and reaches only
 * write-only arguments (`*_wo`, `data_wo`), which are not stored either. What the state holds is the `terraform_data` below: a generation id and
 * the inputs that start a new generation, no secret.
 *
 * A write-only value is sent only when its version changes, so every consumer takes its version
 * from the same generation: a new generation (a consumer's inputs changed, or `rotation` was
 * bumped) rewrites every consumer in one apply, with the same value. A consumer that ignores changes
 * of its version (the Fernet key's secret) keeps its value until it is created again.
 */
export class GeneratedSecrets extends Construct {
  /** Replaced whenever a new generation of secrets is due. */
  public readonly generation: TerraformData;
  /** Version number for `*_wo_version` / `data_wo_revision`, derived from the generation's id. */
  public readonly version: number;
  /** The generation's id: what changes with every new generation. */
  public readonly generationId: string;

  /** @param triggers inputs whose change recreates a consumer (so every consumer is rewritten together) */
  constructor(scope: Construct, id: string, triggers: Readonly<Record<string, string>>) {
    super(scope, id);
    this.generation = new TerraformData(this, 'Generation', triggers);
    this.generationId = this.generation.getStringAttribute('id');
    // 7 hex digits of the generation's UUID: an int that fits the providers' 32-bit version fields.
    this.version = Token.asNumber(Fn.parseint(Fn.substr(Fn.replace(this.generationId, '-', ''), 0, 7), 16));
  }

  /** A new random value of the given shape: a Terraform local, to be used by write-only arguments only. */
  public value(id: string, shape: SecretShape): string {
    return new TerraformLocal(this, id, EXPRESSIONS[shape]()).asString;
  }
}
