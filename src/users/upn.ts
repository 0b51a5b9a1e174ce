import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';

const localPartPattern = /^[A-Za-z0-9'.\-_!#^~]+$/;
const domainPattern = /^(?=.{1,48}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * Checks the shape of a user principal name: `alias@domain`, at most 64 characters before the @
 * and 48 after it, the alias from letters, digits and ' . - _ ! # ^ ~, no leading, trailing or
 * doubled dot. Returns the alias and the lower-cased domain; whether the domain is verified is
 * the caller's check.
 */
export function parseUserPrincipalName(upn: string): { readonly alias: string; readonly domain: string } {
  const at = upn.lastIndexOf('@');
  const alias = at > 0 ? upn.slice(0, at) : '';
  const domain = at > 0 ? upn.slice(at + 1).toLowerCase() : '';
  const problems: string[] = [];
  if (at <= 0) problems.push('must have the form alias@domain');
  if (alias.length > 64) problems.push('the part before the @ must be at most 64 characters');
  if (alias && !localPartPattern.test(alias)) {
    problems.push("the part before the @ may contain only letters, digits and ' . - _ ! # ^ ~");
  }
  if (alias.startsWith('.') || alias.endsWith('.') || alias.includes('..')) {
    problems.push('the part before the @ must not start or end with a dot or contain two dots in a row');
  }
  if (at > 0 && !domainPattern.test(domain))
    problems.push('the domain must be a DNS name of at most 48 characters');
  if (problems.length > 0)
    throw new RekeyError(Codes.InvalidUserPrincipalName, { details: { userPrincipalName: upn, problems } });
  return { alias, domain };
}
