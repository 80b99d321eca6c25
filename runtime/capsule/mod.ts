/**
 * Capsules: `Capsule.toml` manifests, the BLAKE3-pinned loader, the WASM engine (QuickJS under
 * Extism, on this thread) with its twice-gated host functions, the static engine, installs with
 * their signed install records (a folder runs only when the human installed it), and the
 * `<capsule>__<tool>` registry.
 *
 * @example Parse a manifest
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseManifest } from "./mod.ts";
 * equal(parseManifest('[package]\nname = "hi"\nversion = "1"\n').manifest.package.name, "hi");
 * ```
 *
 * @module
 */
export { CapsuleError, type CapsuleErrorCode, type CapsuleErrorDetails } from "./errors.ts";
export {
  type CapsuleManifest,
  type ParsedManifest,
  parseManifest,
  readManifest,
} from "./manifest.ts";
export {
  loadCapsule,
  type LoadedCapsule,
  type LoadOptions,
  MAX_WASM_BYTES,
  ModuleCache,
  verifyWasm,
} from "./loader.ts";
export {
  type CapsuleDescription,
  CapsuleInstance,
  type DescribedTool,
  MAX_OUTPUT_BYTES,
  type WasmLimits,
} from "./engines/wasm.ts";
export {
  type CapsuleCommand,
  type ContextFile,
  loadStatic,
  type Skill,
  type StaticOffer,
} from "./engines/static.ts";
export {
  type CallState,
  type CapsuleLogLine,
  type HostEnv,
  HostError,
  newCallState,
} from "./host/context.ts";
export { HOST_FUNCTION_NAMES, hostFunctions } from "./host/functions.ts";
export { capsuleConfig, envFilePath, readEnvFile, writeEnvFile } from "./env_store.ts";
export {
  type CapsuleDirs,
  capsuleDirs,
  installCapsule,
  type InstalledCapsule,
  type InstallOptions,
  type InstallResult,
  type InstallScope,
  removeCapsule,
  sourceDir,
} from "./install.ts";
export {
  type BrokenCapsule,
  type IgnoredCapsule,
  type InstalledList,
  installWarnings,
  listInstalled,
  type ListOptions,
  type MissingCapsule,
  type VerifiedCapsule,
  verifyInstalled,
} from "./installed.ts";
export {
  type InstallRecord,
  InstallRecords,
  manifestHash,
  type RecordedTool,
  type RecordRead,
} from "./install_record.ts";
export { type PinnedSpec, pinnedSpec, type SpecChange, specDiff } from "./record_diff.ts";
export { type DiscoverContext, discoverTools } from "./discover.ts";
export {
  callCapsuleTool,
  type CapsuleHost,
  type CapsuleToolInfo,
  type CapsuleToolPayload,
  listCapsuleTools,
  splitToolName,
} from "./registry.ts";
export {
  callSkillTool,
  isSkillTool,
  SKILL_TOOL_PREFIX,
  type SkillToolInfo,
  skillTools,
} from "./skills.ts";
export {
  COMMAND_TOOL_PREFIX,
  type CommandRun,
  expandCommandPrompt,
  findSlashCommand,
  runCapsuleCommand,
  type SlashCommand,
  type SlashCommands,
  slashCommands,
} from "./commands.ts";
