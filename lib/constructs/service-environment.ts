/**
 * One side of the migration: the shared attributes and grants (base), an environment referenced
 * from existing resources (imported), or one Switchyard creates (provisioned).
 */
export {
  DIRECT_ACCESS_PRIORITY,
  type EnvironmentAttributes,
  IMPORTED_SIDE_NOT_ROUTED,
  type IServiceEnvironment,
  type Side,
} from './environment/base';
export { type ImportedEnvironmentProps, ImportedServiceEnvironment } from './environment/imported';
export {
  type ProvisionedEnvironmentProps,
  ProvisionedServiceEnvironment,
  syncParameters,
} from './environment/provisioned';
