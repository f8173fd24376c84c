// The configuration package's public API: endpoint INI parsing/rendering/get/set, manager options, the typed model and the INI reader.
export * from './model.js';
export {
  ENDPOINT_OPTIONS,
  ENDPOINT_SECTIONS,
  defaultEndpointConfig,
  getEndpointOption,
  parseEndpointConfig,
  parseEndpointUrl,
  renderEndpointConfig,
  setEndpointOption,
  validateEndpointConfig,
  type EndpointOption,
  type EndpointUrl,
} from './endpoint.js';
export {
  MANAGER_OPTIONS,
  defaultManagerConfig,
  getManagerOption,
  parseManagerOption,
  setManagerOption,
  validateManagerConfig,
  type ManagerOption,
} from './manager.js';
export { parseEndpointConfigCached } from './cache.js';
export { parseIni, renderIni, type IniDocument, type IniEntry, type IniSection } from './ini.js';
