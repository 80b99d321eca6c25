import { equal, rejects } from "node:assert/strict";
import { fingerprint, generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { PublisherPins } from "./trust.ts";

const publisher = () => {
  const k = signerFromSeed(generateSeed()).publicKey;
  return { publicKey: k, fingerprint: fingerprint(k) };
};

Deno.test("PublisherPins refuses a pin edited in the store, and admits only a named new key", async () => {
  using store = await openStore(":memory:");
  const pins = new PublisherPins(store, signerFromSeed(generateSeed()));
  const a = publisher();
  const b = publisher();
  await pins.pin("hello", a, "oci://h/hello:1");
  const raw = JSON.parse(String((await store.get(["registry_publisher", "hello"])).value));
  raw.pin.publicKey = Array.from(b.publicKey, (x) => x.toString(16).padStart(2, "0")).join("");
  raw.pin.fingerprint = b.fingerprint;
  await store.set(["registry_publisher", "hello"], JSON.stringify(raw));
  equal((await pins.read("hello")).state, "refused");
  await rejects(pins.admit("hello", b, "oci://h/hello:2", null), /pinned publisher is refused/);
  equal((await pins.admit("hello", b, "oci://h/hello:2", b.fingerprint)).changed, true);
});

Deno.test("PublisherPins refuses a pin signed by another runtime key", async () => {
  using store = await openStore(":memory:");
  await new PublisherPins(store, signerFromSeed(generateSeed())).pin(
    "x",
    publisher(),
    "oci://h/x:1",
  );
  const mine = new PublisherPins(store, signerFromSeed(generateSeed()));
  const read = await mine.read("x");
  equal(read.state === "refused" && read.reason, "it was not signed by this runtime's key");
});

Deno.test("PublisherPins.admit() refuses --trust-publisher naming a key that did not sign", async () => {
  using store = await openStore(":memory:");
  const pins = new PublisherPins(store, signerFromSeed(generateSeed()));
  const a = publisher();
  await rejects(pins.admit("x", a, "oci://h/x:1", publisher().fingerprint), /not by the trusted/);
});
