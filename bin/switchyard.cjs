#!/usr/bin/env node
// `npx switchyard` / node_modules/.bin/switchyard: the CLI of bin/switchyard.ts in this very process
// (TypeScript compiled on the fly by tsx, as `node --import tsx` does), so signals and exit codes are the CLI's own.
import('tsx').then(() => import('./switchyard.ts'));
