import { describe, expect, it } from 'vitest';
import type { Evidence } from '../diagnose-types.js';
import { type ServiceStatusFacts, serviceStatusCheck } from './service-status.js';

const operational = { displayName: 'Database', status: 'serviceOperational', detail: 'answered in 2 ms' };
const noEvidence = {} as Evidence;

async function statusOf(facts: ServiceStatusFacts) {
  return serviceStatusCheck({ facts: async () => facts }).run(noEvidence);
}

describe('the service-status check', () => {
  it('is ok when every component is operational and no incident is open', async () => {
    const found = await statusOf({ components: [operational], incidents: [] });
    expect(found).toMatchObject({ status: 'ok', code: null });
    expect(found.evidence).toContain('No incident is open.');
  });

  it('fails with the code of an open incident, and names it with the users affected', async () => {
    const found = await statusOf({
      components: [
        operational,
        { displayName: 'Head office', status: 'serviceInterruption', detail: '3 of 3 calls failed' },
      ],
      incidents: [
        {
          title: 'Old outage',
          errorCode: 120013,
          usersAffected: 9,
          startAt: '2026-12-01T10:00:00.000Z',
          isResolved: true,
        },
        {
          title: 'On-premises directory unreachable',
          errorCode: 80001,
          usersAffected: 3,
          startAt: '2026-12-07T08:00:00.000Z',
          isResolved: false,
        },
      ],
    });
    expect(found).toMatchObject({ status: 'fail', code: 80001 });
    expect(found.evidence.join('\n')).toContain(
      'On-premises directory unreachable (AADSTS80001, 3 users affected)',
    );
    expect(found.evidence.join('\n')).not.toContain('Old outage');
    // The catalog's fix of the incident's code comes with it.
    expect(found.remediation.length).toBeGreaterThan(0);
  });

  it('warns when a component is not operational without an open incident', async () => {
    const found = await statusOf({
      components: [
        { displayName: 'Worker queue', status: 'serviceDegradation', detail: '40 due, oldest 95 s late' },
      ],
      incidents: [],
    });
    expect(found).toMatchObject({ status: 'warn', code: null });
  });
});
