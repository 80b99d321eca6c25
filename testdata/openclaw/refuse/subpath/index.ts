import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { defineChannelPluginEntry } from "openclaw/plugin-sdk/channel-core";

export const channel = defineChannelPluginEntry;
export default definePluginEntry({
  id: "refuse-subpath",
  name: "Channel",
  description: "A messaging channel",
  register() {},
});
