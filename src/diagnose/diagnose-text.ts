import { findCatalogEntry } from '../platform/errors/catalog.js';
import type { DiagnoseReport, Finding } from './diagnose-types.js';

/*
 * The report in words a help-desk person follows: the verdict first, then the evidence check by
 * check, then the fix. Text for the terminal and the support bundle; Markdown for a ticket.
 */

const statusWords: Readonly<Record<Finding['status'], string>> = {
  fail: 'PROBLEM',
  warn: 'WARNING',
  ok: 'ok',
  skipped: 'skipped',
};

function verdictLine(report: DiagnoseReport): string {
  const v = report.verdict;
  return v.code === null
    ? 'No failure found.'
    : `AADSTS${v.code} ${v.name ?? ''} (confidence: ${v.confidence})`.trim();
}

function fixSteps(report: DiagnoseReport): string[] {
  const v = report.verdict;
  const steps: string[] = [];
  if (v.code !== null) steps.push(...(findCatalogEntry(v.code)?.remediation ?? []));
  for (const f of report.findings)
    if (f.status === 'fail' || f.status === 'warn')
      for (const step of f.remediation) if (!steps.includes(step)) steps.push(step);
  return steps;
}

function scopeLine(report: DiagnoseReport): string {
  const s = report.scope;
  if (s.requests === 0) return 'No failed request in the window.';
  return `${s.usersAffected} user(s), ${s.requests} failed request(s), from ${s.firstSeen} to ${s.lastSeen}.${
    s.mostAffected.length > 1
      ? ` Most affected: ${s.mostAffected.map((u) => `${u.userPrincipalName} (${u.requests})`).join(', ')}.`
      : ''
  }`;
}

/** The report as plain text. */
export function renderReportText(report: DiagnoseReport): string {
  const lines: string[] = [];
  lines.push(`VERDICT: ${verdictLine(report)}`);
  lines.push(`  ${report.verdict.summary}`);
  lines.push(`SCOPE: ${scopeLine(report)}`);
  lines.push('');
  lines.push(`EVIDENCE (since ${report.selectors.since}):`);
  report.findings.forEach((f, i) => {
    lines.push(
      `${i + 1}. ${f.title}: ${statusWords[f.status]}${f.code === null ? '' : ` (AADSTS${f.code})`}`,
    );
    for (const e of f.evidence) lines.push(`     - ${e}`);
  });
  lines.push('');
  const steps = fixSteps(report);
  lines.push('FIX:');
  if (steps.length === 0) lines.push('  Nothing to fix was found.');
  steps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step}`);
  });
  return `${lines.join('\n')}\n`;
}

/** The report as Markdown. */
export function renderReportMarkdown(report: DiagnoseReport): string {
  const lines: string[] = [];
  lines.push(
    `# Verdict: ${verdictLine(report)}`,
    '',
    report.verdict.summary,
    '',
    `**Scope:** ${scopeLine(report)}`,
    '',
  );
  lines.push(`## Evidence (since ${report.selectors.since})`, '');
  for (const f of report.findings) {
    lines.push(`### ${f.title}: ${statusWords[f.status]}${f.code === null ? '' : ` (AADSTS${f.code})`}`, '');
    for (const e of f.evidence) lines.push(`- ${e.replaceAll('\n', ' ')}`);
    lines.push('');
  }
  lines.push('## Fix', '');
  const steps = fixSteps(report);
  if (steps.length === 0) lines.push('Nothing to fix was found.');
  steps.forEach((step, i) => {
    lines.push(`${i + 1}. ${step}`);
  });
  return `${lines.join('\n')}\n`;
}
