// Runs a command on the host.

import { execSync } from "node:child_process";

export const run = (cmd: string): string => execSync(cmd).toString();
