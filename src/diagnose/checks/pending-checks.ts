import type { DiagnoseCheck } from '../diagnose-types.js';
import { finding } from './finding.js';

/*
 * Checks whose evidence Rekey does not record yet. Each is replaced, under the same name, by the
 * feature that brings its evidence (see DiagnoseServiceDeps.checks): service status and incidents
 * (issue 12 item 3), licences (subscribedSkus, assignLicense, codes 77010xx).
 */

/** Service status: components and open incidents. */
export const serviceStatusPending: DiagnoseCheck = {
  name: 'serviceStatus',
  async run() {
    return finding('serviceStatus', 'Service status', 'skipped', null, [
      'Rekey does not record component health or incidents yet; the database answered this diagnosis.',
    ]);
  },
};

/** Licence: whether the user holds a licence that allows the change. */
export const licencePending: DiagnoseCheck = {
  name: 'licence',
  async run() {
    return finding('licence', 'Licence', 'skipped', null, [
      'Rekey does not manage licences yet, so no licence can block a password change.',
    ]);
  },
};
