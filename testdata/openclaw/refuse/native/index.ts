import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
// A prebuilt native addon.
import addon from "./native/fast.node";

export default definePluginEntry({
  id: "refuse-native",
  name: "Native",
  description: "Loads machine code",
  register(api) {
    api.logger.info(String(addon));
  },
});
