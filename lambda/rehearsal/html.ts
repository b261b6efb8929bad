/**
 * HTML built with a tagged template that escapes by default: every `${value}` inside html`…` is
 * HTML-escaped (text and attribute values alike) unless it is itself html`…` or marked `raw()`
 * (trusted markup written in this code, never data). Arrays are joined; null, undefined and
 * false render as nothing, so `${cond && html`…`}` leaves a section out.
 */

/** Markup that is safe to insert as is: what html`…` returns, or a trusted fragment marked with raw(). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Trusted markup written in this code (CSS, a fixed fragment), inserted without escaping. Never data. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);

/** Escape text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** One interpolated value as markup. */
function fragment(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(fragment).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/** The tagged template: literal parts as written, every interpolation escaped unless SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += fragment(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}
