/**
 * Every phase handler, exported by name: the CDK app bundles this one entry once
 * and points each function at its export (`index.preflight`, `index.copyData`, ...).
 */
export { handler as validateInput } from './validate-input';
export { handler as preflight } from './preflight';
export { handler as backup, statusHandler as backupStatus } from './backup';
export { handler as transferConfig } from './transfer-config';
export { handler as prepareTarget } from './prepare-target';
export { handler as copyData } from './copy-data';
export { handler as validateData } from './validate-data';
export { handler as catchUp } from './catch-up';
export { handler as shiftTraffic } from './shift-traffic';
export { handler as healthGate } from './health-gate';
export { handler as rollbackTraffic } from './rollback-traffic';
export { handler as restoreData } from './restore-data';
export { handler as finalize } from './finalize';
