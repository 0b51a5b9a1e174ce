import {
  adScenarios,
  cloudScenarios,
  type DirectoryHarness,
  type DirectoryScenario,
  hybridScenarios,
  runCloudScenario,
  runDirectoryScenario,
  type ScenarioRun,
  startAdHarness,
  startCloudHarness,
  startHybridHarness,
} from '../../src/diagnose/diagnose-scenarios.test-support.js';
import { startSambaDc } from '../../test/support/samba.js';

/*
 * Scenario accuracy: the scenario suite's own rows (src/diagnose/diagnose-scenarios.test-support.ts),
 * run here as the suite runs them, each failure made through the public API, then diagnosed by
 * user, by the request's correlation ID and by the code callers saw. A verdict is right when its
 * code is the scenario's root cause; nothing here knows the answers but the rows themselves.
 */

/** How one scenario was diagnosed: the verdict codes of the three ways (null: none, or the run failed). */
export interface ScenarioOutcome {
  readonly group: 'cloud' | 'OpenLDAP' | 'Active Directory';
  readonly name: string;
  readonly expected: number;
  readonly byUser: number | null;
  readonly byCorrelationId: number | null;
  readonly byCode: number | null;
  /** Why the scenario could not be run to its three reports, when it could not. */
  readonly error?: string;
}

function outcomeOf(
  group: ScenarioOutcome['group'],
  name: string,
  expected: number,
  run: () => Promise<ScenarioRun>,
): Promise<ScenarioOutcome> {
  return run().then(
    (done) => ({
      group,
      name,
      expected,
      byUser: done.reports.user.verdict.code,
      byCorrelationId: done.reports.correlation.verdict.code,
      byCode: done.reports.code.verdict.code,
    }),
    (error: unknown) => ({
      group,
      name,
      expected,
      byUser: null,
      byCorrelationId: null,
      byCode: null,
      error: error instanceof Error ? error.message.split('\n')[0] : String(error),
    }),
  );
}

/** The right verdicts among `outcomes`, and how many were asked for (three per scenario). */
export function accuracyOf(outcomes: readonly ScenarioOutcome[]): { right: number; total: number } {
  let right = 0;
  for (const outcome of outcomes)
    for (const code of [outcome.byUser, outcome.byCorrelationId, outcome.byCode])
      if (code === outcome.expected) right += 1;
  return { right, total: outcomes.length * 3 };
}

async function runDirectoryRows<H extends DirectoryHarness>(
  group: ScenarioOutcome['group'],
  h: H,
  scenarios: readonly DirectoryScenario<H>[],
  prefix: string,
  progress: (message: string) => void,
): Promise<ScenarioOutcome[]> {
  const outcomes: ScenarioOutcome[] = [];
  for (const [index, scenario] of scenarios.entries()) {
    progress(`accuracy: ${group}: ${scenario.name}`);
    outcomes.push(
      await outcomeOf(group, scenario.name, scenario.verdict, () =>
        runDirectoryScenario(h, scenario, `${prefix}-${index}`),
      ),
    );
  }
  return outcomes;
}

/** The cloud rows on a fresh SQLite Rekey, then the OpenLDAP rows on a real slapd. */
export async function measureAccuracy(progress: (message: string) => void): Promise<ScenarioOutcome[]> {
  const outcomes: ScenarioOutcome[] = [];
  const cloud = await startCloudHarness('sqlite');
  try {
    for (const [index, scenario] of cloudScenarios.entries()) {
      progress(`accuracy: cloud: ${scenario.name}`);
      outcomes.push(
        await outcomeOf('cloud', scenario.name, scenario.verdict, () =>
          runCloudScenario(cloud, scenario, index),
        ),
      );
    }
  } finally {
    await cloud.rekey.close();
  }
  progress('accuracy: starting slapd for the OpenLDAP rows');
  const hybrid = await startHybridHarness('sqlite');
  try {
    outcomes.push(...(await runDirectoryRows('OpenLDAP', hybrid, hybridScenarios, 'bench-hybrid', progress)));
  } finally {
    await hybrid.close();
  }
  return outcomes;
}

/**
 * The Active Directory rows against a Samba domain controller provisioned for the run. Its LDAP
 * ports are fixed (389, 636): nothing else may run one meanwhile (the Active Directory tests, the
 * writeback bench's AD part).
 */
export async function measureAdAccuracy(progress: (message: string) => void): Promise<ScenarioOutcome[]> {
  progress('accuracy-ad: provisioning the Samba domain controller');
  const dc = await startSambaDc();
  try {
    const h = await startAdHarness('sqlite', dc);
    try {
      return await runDirectoryRows('Active Directory', h, adScenarios('b'), 'bench-ad', progress);
    } finally {
      await h.close();
    }
  } finally {
    await dc.close();
  }
}
