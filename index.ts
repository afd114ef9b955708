/** Entry point: validate the stack config, build the platform, export its addresses. */
import { loadConfig } from "./config";
import { deployPlatform } from "./platform";

const platform = deployPlatform(loadConfig());

export const serviceDnsNames = platform.serviceDnsNames;
export const publicUrls = platform.publicUrls;
export const connectionStrings = platform.connectionStrings;
