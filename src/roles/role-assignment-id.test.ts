import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeAssignmentId, encodeAssignmentId } from './role-assignment-id.js';

const globalAdministrator = '62e90394-69f5-4237-9190-012177145e10';

describe('role assignment ids', () => {
  it('spells an assignment as Entra does for tenant-wide built-in roles', () => {
    // The pair and the id as they appear together in Graph's role-assignment examples.
    const principalId = 'a98eb769-7bd4-4489-86f6-ad96e1d58b62';
    const id = 'lAPpYvVpN0KRkAEhdxReEGm3jqnUe4lEhvatluHVi2I-1';
    expect(encodeAssignmentId({ roleTemplateId: globalAdministrator, principalId })).toBe(id);
    expect(decodeAssignmentId(id)).toEqual({ roleTemplateId: globalAdministrator, principalId });
  });

  it('round-trips any pair of GUIDs, reading upper case as lower case', () => {
    for (let i = 0; i < 50; i++) {
      const key = { roleTemplateId: randomUUID(), principalId: randomUUID() };
      expect(decodeAssignmentId(encodeAssignmentId(key))).toEqual(key);
    }
    const upper = {
      roleTemplateId: globalAdministrator.toUpperCase(),
      principalId: randomUUID().toUpperCase(),
    };
    expect(decodeAssignmentId(encodeAssignmentId(upper))).toEqual({
      roleTemplateId: upper.roleTemplateId.toLowerCase(),
      principalId: upper.principalId.toLowerCase(),
    });
  });

  it('names nothing for ids it does not make', () => {
    const id = encodeAssignmentId({ roleTemplateId: globalAdministrator, principalId: randomUUID() });
    const encoded = id.slice(0, -2);
    for (const other of [
      '',
      encoded,
      `${encoded}-2`,
      `${encoded}-1-1`,
      `${encoded.slice(1)}-1`,
      `${encoded}A-1`,
      `${encoded.slice(0, -1)}+-1`,
      globalAdministrator,
    ]) {
      expect(decodeAssignmentId(other), other).toBeUndefined();
    }
    // The last character carries two spare bits: flipping one spells the same bytes differently,
    // and only the canonical spelling is an id.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(encoded.slice(-1));
    const variant = `${encoded.slice(0, -1)}${alphabet[last ^ 1]}-1`;
    expect(Buffer.from(variant.slice(0, -2), 'base64url')).toEqual(Buffer.from(encoded, 'base64url'));
    expect(decodeAssignmentId(variant)).toBeUndefined();
    expect(() => encodeAssignmentId({ roleTemplateId: 'not-a-guid', principalId: randomUUID() })).toThrow();
  });
});
