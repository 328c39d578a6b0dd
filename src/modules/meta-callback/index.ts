export {
  DATA_DELETION_PATH,
  registerMetaCallbackRoutes,
  type MetaCallbackDeps,
} from './meta-callback.routes.js';
