import { toConnectorBody } from '../../connectors/connector-mapper.js';
import type { ConnectorTestReportBody } from '../../connectors/connector-schemas.js';
import type { ConnectorService } from '../../connectors/connector-service.js';
import type { DomainRow } from '../../platform/db/schema.js';
import { Codes } from '../../platform/errors/catalog.js';
import type { DiagnoseCheck, Finding } from '../diagnose-types.js';
import type { ConnectorCallEvidence } from '../evidence-store.js';
import { finding } from './finding.js';

/** A connector as the connector service lists it. */
type ConnectorRecord = Awaited<ReturnType<ConnectorService['list']>>[number];

export interface FederationConnectorPorts {
  readonly domains: () => Promise<readonly DomainRow[]>;
  readonly connectors: () => Promise<readonly ConnectorRecord[]>;
  /** A live connection test (connect, StartTLS, bind, search); undefined when no directory client is installed. */
  readonly probe: ((connectorId: string) => Promise<ConnectorTestReportBody>) | undefined;
  readonly recentCalls: (connectorId: string, since: string) => Promise<readonly ConnectorCallEvidence[]>;
}

/**
 * Federation and connector: the domain's type, the connector's configuration (never its bind
 * password), a live probe, and the directory's recent answers.
 */
export function federationConnectorCheck(ports: FederationConnectorPorts): DiagnoseCheck {
  return {
    name: 'federationAndConnector',
    async run(evidence): Promise<Finding> {
      const lines: string[] = [];
      const user = evidence.user;
      let status: Finding['status'] = 'ok';
      let code: number | null = null;
      const data: Record<string, unknown> = {};
      if (user) {
        const domainName = user.user_principal_name.split('@')[1]?.toLowerCase() ?? '';
        const domain = (await ports.domains()).find((d) => d.name === domainName);
        lines.push(
          `Domain ${domainName}: ${domain ? domain.authentication_type : 'not a domain of the tenant'}.`,
        );
        data['domain'] = { id: domainName, authenticationType: domain?.authentication_type ?? null };
        if (domain?.authentication_type === 'Federated') {
          // Refusals for it in the window make it the problem; otherwise it is worth knowing.
          const refused = evidence.failures.filter(
            (failure) => failure.rootCode === Codes.PasswordChangeNeedsToHappenOnPrem,
          ).length;
          status = refused > 0 ? 'fail' : 'warn';
          code = Codes.PasswordChangeNeedsToHappenOnPrem;
          lines.push('Passwords of a federated domain are changed at its identity provider.');
          if (refused > 0)
            lines.push(
              `${refused} request(s) in the window were refused for it: the password is not Rekey's to change.`,
            );
        }
        if (user.on_premises_connector_id === null) {
          lines.push(
            'The user is cloud-only: no on-premises directory takes part in their password changes.',
          );
          return finding('federationAndConnector', 'Federation and connector', status, code, lines, { data });
        }
      }
      const all = await ports.connectors();
      const concerned = user ? all.filter((c) => c.id === user.on_premises_connector_id) : all;
      if (user && concerned.length === 0)
        lines.push('The connector that imported the user no longer exists.');
      if (!user && concerned.length === 0) lines.push('No directory connector is configured.');
      const views: unknown[] = [];
      for (const connector of concerned) {
        const body = toConnectorBody(connector);
        const { caCertificate: _omitted, ...shown } = body;
        if (evidence.showConnectorConfiguration) {
          views.push(shown);
          lines.push(
            `Connector "${body.displayName}" (${body.flavor}) at ${body.url}${body.startTls ? ' with StartTLS' : ''}, bound as ${body.bindDn}, users under ${body.baseDn}; writeback ${body.writeback ? 'on' : 'off'}.`,
          );
        } else {
          views.push({
            id: body.id,
            displayName: body.displayName,
            flavor: body.flavor,
            writeback: body.writeback,
          });
          lines.push(
            `Connector "${body.displayName}" (${body.flavor}); writeback ${body.writeback ? 'on' : 'off'} (its address and account are shown to connector administrators).`,
          );
        }
        if (!body.writeback && user) {
          status = 'fail';
          code = Codes.PasswordChangeNeedsToHappenOnPrem;
          lines.push(
            "Writeback is off: the directory owns this user's password and Rekey does not write it there.",
          );
        }
        if (ports.probe) {
          try {
            const report = await ports.probe(connector.id);
            const failed = report.steps.find((s) => s.result === 'failure');
            lines.push(
              `Live probe: ${report.success ? 'connected, bound and searched' : `failed at ${failed?.step}: ${failed?.message}`}${report.usersFound === null ? '' : `; ${report.usersFound} user(s) found`}.`,
            );
            data['probe'] = report;
            if (!report.success) {
              status = 'fail';
              code = failed?.code ?? Codes.PasswordChangeOnPremisesConnectivityFailure;
            }
          } catch (error) {
            lines.push(
              `Live probe could not run: ${error instanceof Error ? error.message : String(error)}.`,
            );
          }
        } else {
          lines.push('Live probe: no directory client in this process.');
        }
        const calls = await ports.recentCalls(connector.id, evidence.since);
        const byResult = new Map<string, number>();
        for (const call of calls) {
          const key = `${call.operation} ${call.ldap_result_code === null ? 'no answer' : `result ${call.ldap_result_code}`}${call.ppolicy_error ? ` (${call.ppolicy_error})` : ''}`;
          byResult.set(key, (byResult.get(key) ?? 0) + 1);
        }
        const failing = calls.filter((c) => c.ldap_result_code !== 0).length;
        lines.push(
          calls.length === 0
            ? 'No directory call in the window.'
            : `${calls.length} recent directory call(s), ${failing} not successful (${((100 * (calls.length - failing)) / calls.length).toFixed(0)}% reliable): ${[...byResult.entries()].map(([k, n]) => `${n} × ${k}`).join('; ')}.`,
        );
        if (status === 'ok' && failing > 0) status = 'warn';
      }
      data['connectors'] = views;
      return finding('federationAndConnector', 'Federation and connector', status, code, lines, { data });
    },
  };
}
