import { InfermeshError } from '@infermesh/shared';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { ServedModel } from '../models/served-model.js';

/** The configured model of that name, or MODEL_NOT_FOUND naming it. */
export function findModel(catalog: ModelCatalog, name: string): ServedModel {
  const model = catalog.get(name);
  if (model === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${name}' is not configured on this gateway`, { details: { model: name } });
  return model;
}
