/**
 * Trust on first use: the first install of a capsule name from a registry pins its publisher's
 * key in user state (the KV store under `$ASTRID_HOME`, which no agent-side action reaches),
 * signed with the runtime key like install records are. A later install or upgrade of the same
 * name signed by another key is refused (`PUBLISHER`) unless the human names the new key's
 * fingerprint (`--trust-publisher`), which re-pins it.
 *
 * Storage: `["registry_publisher", <name>]` = `{ pin, key, sig }` where `sig` is Ed25519
 * (RFC 8032) over `canonicalBytes("registry-publisher-pin", pin)` (ACE-1) by the runtime key
 * `key`. Reading verifies in a fixed order: the key is this runtime's, the signature, then the
 * fields; a pin that fails any step is refused and reported, never silently replaced.
 *
 * @module
 */
import { z } from "zod";
import {
  canonicalBytes,
  fingerprint,
  fromBase64Url,
  fromHex,
  type Signer,
  toBase64Url,
  toHex,
  verify,
} from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { RegistryError } from "./errors.ts";
import type { Publisher } from "./signature.ts";

/** The ACE-1 domain of a publisher pin's signature. */
export const PIN_DOMAIN = "registry-publisher-pin";
const PREFIX = "registry_publisher";

const PIN = z.strictObject({
  v: z.literal(1),
  name: z.string(),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
  fingerprint: z.string(),
  ref: z.string(),
  pinnedAt: z.string(),
});

/** A pinned publisher of one capsule name. */
export type PublisherPin = z.output<typeof PIN>;

/** A pin as read back: none, verified, or refused with the reason. */
export type PinRead =
  | { readonly state: "none" }
  | { readonly state: "ok"; readonly pin: PublisherPin }
  | { readonly state: "refused"; readonly reason: string };

/**
 * The publisher pins of one runtime key, in a store.
 *
 * @example First use pins; another key is refused; naming it re-pins
 * ```ts
 * import { equal, rejects } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { fingerprint, generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { PublisherPins } from "./trust.ts";
 * using store = await openStore(":memory:");
 * const pins = new PublisherPins(store, signerFromSeed(generateSeed()));
 * const pub = (k: Uint8Array) => ({ publicKey: k, fingerprint: fingerprint(k) });
 * const a = pub(signerFromSeed(generateSeed()).publicKey);
 * const b = pub(signerFromSeed(generateSeed()).publicKey);
 * equal((await pins.admit("hello", a, "oci://h/r:1", null)).firstUse, true);
 * await pins.pin("hello", a, "oci://h/r:1");
 * await rejects(pins.admit("hello", b, "oci://h/r:2", null), /another key/);
 * equal((await pins.admit("hello", b, "oci://h/r:2", b.fingerprint)).changed, true);
 * ```
 */
export class PublisherPins {
  #store: Store;
  #signer: Signer;

  /** Pins in `store`, signed and verified with `signer` (the runtime key). */
  constructor(store: Store, signer: Signer) {
    this.#store = store;
    this.#signer = signer;
  }

  /** The pin of `name`. */
  async read(name: string): Promise<PinRead> {
    const entry = await this.#store.get<string>([PREFIX, name]);
    if (entry.value === null) return { state: "none" };
    let env: { pin?: unknown; key?: unknown; sig?: unknown };
    try {
      env = JSON.parse(String(entry.value));
    } catch {
      return { state: "refused", reason: "it does not parse" };
    }
    if (env?.key !== toHex(this.#signer.publicKey)) {
      return { state: "refused", reason: "it was not signed by this runtime's key" };
    }
    let ok = false;
    try {
      ok = verify(
        this.#signer.publicKey,
        canonicalBytes(PIN_DOMAIN, env.pin),
        fromBase64Url(String(env.sig)),
      );
    } catch {
      ok = false;
    }
    if (!ok) return { state: "refused", reason: "its signature does not verify" };
    const parsed = PIN.safeParse(env.pin);
    if (!parsed.success || parsed.data.name !== name) {
      return { state: "refused", reason: "its fields do not validate" };
    }
    if (fingerprint(fromHex(parsed.data.publicKey)) !== parsed.data.fingerprint) {
      return { state: "refused", reason: "its fingerprint does not match its key" };
    }
    return { state: "ok", pin: parsed.data };
  }

  /** Pins `publisher` for `name` (replacing any earlier pin). */
  async pin(name: string, publisher: Publisher, ref: string): Promise<PublisherPin> {
    const pin = PIN.parse({
      v: 1,
      name,
      publicKey: toHex(publisher.publicKey),
      fingerprint: fingerprint(publisher.publicKey),
      ref,
      pinnedAt: new Date().toISOString(),
    });
    const sig = this.#signer.sign(canonicalBytes(PIN_DOMAIN, pin));
    await this.#store.set(
      [PREFIX, name],
      JSON.stringify({ pin, key: toHex(this.#signer.publicKey), sig: toBase64Url(sig) }),
    );
    return pin;
  }

  /**
   * Decides whether `publisher` may install `name`: the pinned key, or no pin yet (first use),
   * or `trust` naming its fingerprint. Does not write: call {@link pin} after the install.
   *
   * @throws {RegistryError} `PUBLISHER` for another key than the pinned one (or a refused pin)
   * without `trust` naming this key
   */
  async admit(
    name: string,
    publisher: Publisher,
    ref: string,
    trust: string | null,
  ): Promise<{ firstUse: boolean; changed: boolean; previous: string | null }> {
    const fp = fingerprint(publisher.publicKey);
    if (trust !== null && trust !== fp) {
      throw new RegistryError(
        "PUBLISHER",
        `Cannot install ${name} from ${ref}: it is signed by ${fp}, not by the trusted ${trust}`,
      );
    }
    const read = await this.read(name);
    if (read.state === "none") {
      return { firstUse: true, changed: false, previous: null };
    }
    if (read.state === "ok" && read.pin.publicKey === toHex(publisher.publicKey)) {
      return { firstUse: false, changed: false, previous: read.pin.fingerprint };
    }
    const previous = read.state === "ok" ? read.pin.fingerprint : null;
    if (trust === fp) {
      return { firstUse: false, changed: true, previous };
    }
    throw new RegistryError(
      "PUBLISHER",
      read.state === "ok"
        ? `Cannot install ${name} from ${ref}: it is signed by another key (${fp}) than the ` +
          `publisher pinned at its first install (${previous}); pass --trust-publisher ${fp} ` +
          "if you trust the new key"
        : `Cannot install ${name} from ${ref}: its pinned publisher is refused ` +
          `(${read.reason}); pass --trust-publisher ${fp} to pin ${fp}`,
    );
  }
}
