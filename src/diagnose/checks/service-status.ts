import type { DiagnoseCheck } from '../diagnose-types.js';
import { finding } from './finding.js';

/** What the service-status check reads: components as the status page shows them, and incidents. */
export interface ServiceStatusFacts {
  readonly components: ReadonlyArray<{
    readonly displayName: string;
    readonly status: string;
    readonly detail: string;
  }>;
  readonly incidents: ReadonlyArray<{
    readonly title: string;
    readonly errorCode: number;
    readonly usersAffected: number;
    readonly startAt: string;
    readonly isResolved: boolean;
  }>;
}

/**
 * Service status: every component that is not operational, and the incidents open now. An open
 * incident fails the check with its code (a burst of 120013 is the directory, not the user); a
 * component not operational without an incident is a warning.
 */
export function serviceStatusCheck(deps: {
  readonly facts: () => Promise<ServiceStatusFacts>;
}): DiagnoseCheck {
  return {
    name: 'serviceStatus',
    async run() {
      const { components, incidents } = await deps.facts();
      const open = incidents.filter((incident) => !incident.isResolved);
      const degraded = components.filter((component) => component.status !== 'serviceOperational');
      const lines = [
        ...components.map(
          (component) => `${component.displayName}: ${component.status} (${component.detail})`,
        ),
        ...(open.length === 0
          ? ['No incident is open.']
          : open.map(
              (incident) =>
                `Open incident since ${incident.startAt}: ${incident.title} (AADSTS${incident.errorCode}, ${incident.usersAffected} users affected).`,
            )),
      ];
      const first = open[0];
      if (first) return finding('serviceStatus', 'Service status', 'fail', first.errorCode, lines);
      if (degraded.length > 0) return finding('serviceStatus', 'Service status', 'warn', null, lines);
      return finding('serviceStatus', 'Service status', 'ok', null, lines);
    },
  };
}
