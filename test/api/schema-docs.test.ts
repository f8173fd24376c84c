// The explorer shows every type and field with its description: none may be missing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType, isSpecifiedScalarType } from 'graphql';
import { buildSchema } from '../../src/server/schema.js';

describe('schema descriptions', () => {
  it('should describe every type, field, input field and enum value', () => {
    const missing: string[] = [];
    const described = (text: string | null | undefined) => typeof text === 'string' && text.trim().length > 0;
    for (const type of Object.values(buildSchema().getTypeMap())) {
      if (type.name.startsWith('__') || (isScalarType(type) && isSpecifiedScalarType(type))) continue;
      if (!described(type.description)) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!described(value.description)) missing.push(`${type.name}.${value.name}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
