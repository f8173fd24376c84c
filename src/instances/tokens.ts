// Per-instance credentials: a token for each instance, signed with a key every server of the store shares, that allows only setInstanceMetrics for that instance.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/types.js';

/** Name of the signing key in the store's secrets. */
export const INSTANCE_TOKEN_KEY = 'instance-token-key';
/** Prefix that makes a token recognisable in logs and headers (`rit` = Reactor instance token). */
const PREFIX = 'rit_';

/**
 * A token is `rit_<instance id>.<HMAC-SHA256(key, instance id)>` in base64url.
 * It is derived, not stored: whoever holds the key (every server of the
 * store, which shares it through `secrets`) can mint and check it, and no
 * token of any instance is ever written down. The instance id in it tells the
 * API which instance speaks; the signature proves the token was minted for
 * that id. A token stays valid while its instance record exists (the API
 * checks that too), so the tokens of removed instances stop working.
 */
export class InstanceTokens {
  private constructor(private readonly key: Buffer) {}

  /** Reads the store's signing key, making it on first use. */
  static async open(store: Store): Promise<InstanceTokens> {
    const value = await store.secrets.getOrCreate(INSTANCE_TOKEN_KEY, randomBytes(32).toString('base64url'));
    return new InstanceTokens(Buffer.from(value, 'base64url'));
  }

  /** The token handed to the container of `instanceId` (as REACTOR_TOKEN). */
  mint(instanceId: string): string {
    return `${PREFIX}${instanceId}.${this.sign(instanceId)}`;
  }

  /** The instance id a well-formed, correctly signed token names; null for anything else. */
  verify(token: unknown): string | null {
    if (typeof token !== 'string' || !token.startsWith(PREFIX) || token.length > 512) return null;
    const dot = token.lastIndexOf('.');
    if (dot <= PREFIX.length) return null;
    const instanceId = token.slice(PREFIX.length, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(instanceId), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) ? instanceId : null;
  }

  /** True when a header value looks like an instance token (so it is checked as one, not as the API key). */
  static looksLikeToken(value: unknown): boolean {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  private sign(instanceId: string): string {
    return createHmac('sha256', this.key).update(instanceId).digest('base64url');
  }
}
