/** The AWS SDK's documented switch for its "upgrade Node" warning (@aws-sdk/core emitWarningIfUnsupportedVersion). */
export const SDK_NODE_WARNING_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Silence only the SDK's Node-version support warning, for this CLI process: every other warning
 * still shows, and a value the user set on purpose is kept. Call before the first SDK client exists.
 */
export function quietSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  if (env[SDK_NODE_WARNING_ENV] === undefined) env[SDK_NODE_WARNING_ENV] = 'true';
}
