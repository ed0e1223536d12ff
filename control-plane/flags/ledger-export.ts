/**
 * The green ledger as Markdown, for release reviews: one section per
 * decision with its evidence, approver, strategy hash and the flags snapshot.
 */
import { stageName } from '../../actors/flags/model';
import type { LedgerDto } from './flag-dto';

const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function ledgerMarkdown(entries: readonly LedgerDto[], title = 'Feature flag ledger'): string {
  const out: string[] = [`# ${title}`, '', `${entries.length} decision(s).`, ''];
  out.push('| id | at | flag | decision | stage | approver | strategy hash |', '|---|---|---|---|---|---|---|');
  for (const e of entries) {
    const stage = e.stageFrom === null ? stageName(e.stageTo) : `${stageName(e.stageFrom)} → ${stageName(e.stageTo)}`;
    out.push(`| ${cell(e.id)} | ${cell(e.at)} | ${cell(e.flagKey)} | ${cell(e.decision)} | ${cell(stage)} | ${cell(e.approver)} | \`${e.strategyHash.slice(0, 16)}…\` |`);
  }
  for (const e of entries) {
    out.push('', `## ${e.id}: ${e.decision} of \`${e.flagKey}\``, '');
    out.push(`- at: ${e.at}`, `- approver: ${e.approver}`, `- reason: ${cell(e.reason)}`, `- stage: ${e.stageFrom === null ? '' : `${e.stageFrom} → `}${e.stageTo}`, `- strategy hash (SHA-256 of RFC 8785 JSON): \`${e.strategyHash}\``);
    if (e.restorePoint) out.push(`- restore point: ${e.restorePoint}`);
    out.push('', '### Evidence', '', '```json', JSON.stringify(e.evidence, null, 2), '```');
    out.push('', '### Flags snapshot', '', '| flag | stage | killed | profile | percentage | version |', '|---|---|---|---|---|---|');
    for (const s of e.snapshot) out.push(`| ${cell(s.key)} | ${cell(s.stage)} | ${cell(s.killed)} | ${cell(s.profile)} | ${cell(s.percentage)} | ${cell(s.version)} |`);
  }
  return `${out.join('\n')}\n`;
}
