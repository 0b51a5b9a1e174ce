import type { DiagnoseCheck } from '../diagnose-types.js';
import { finding } from './finding.js';

/*
 * Checks whose evidence Rekey does not record yet. Each is replaced, under the same name, by the
 * feature that brings its evidence (see DiagnoseServiceDeps.checks): service status and incidents
 * (issue 12 item 3).
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
