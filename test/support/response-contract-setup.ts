import { afterAll, afterEach } from 'vitest';
import { takeContractViolations } from './response-contract.js';

/*
 * Fails the test during which a reply broke its route's response schema (see
 * response-contract.ts). Replies made in a `beforeAll` are reported with the first test.
 */

function failOnViolations(): void {
  const found = takeContractViolations();
  if (found.length > 0) {
    throw new Error(`A reply did not match its route's response schema:\n${found.join('\n')}`);
  }
}

afterEach(failOnViolations);
afterAll(failOnViolations);
