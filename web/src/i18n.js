// Every string of the UI comes from i18n/en.json or i18n/zh-CN.json through t(key, vars).
// The language: the one chosen (kept in localStorage), else the browser's, else English.
import en from './i18n/en.json';
import zh from './i18n/zh-CN.json';

const catalogs = { en, 'zh-CN': zh };
export const languages = Object.keys(catalogs);
let lang = 'en';

export function pickLanguage() {
  let chosen = null;
  try { chosen = localStorage.getItem('crmflow.lang'); } catch { /* private mode */ }
  if (chosen && catalogs[chosen]) return chosen;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    if (/^zh\b/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

export function setLanguage(l, remember) {
  lang = catalogs[l] ? l : 'en';
  document.documentElement.lang = lang;
  if (remember) {
    try { localStorage.setItem('crmflow.lang', lang); } catch { /* ignore */ }
  }
}

export function language() { return lang; }

export function t(key, vars) {
  let s = catalogs[lang][key] ?? catalogs.en[key];
  if (s === undefined) {
    console.warn('i18n: no string', key);
    return key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  return s;
}

// t() when the key may not exist (a state or type from the server): the fallback is the raw value.
export function tOr(key, fallback) {
  return catalogs[lang][key] ?? catalogs.en[key] ?? fallback;
}

export function fmtDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function fmtDay(day) {
  const d = new Date(day + 'T00:00:00Z');
  if (isNaN(d)) return day;
  return new Intl.DateTimeFormat(lang, { month: 'numeric', day: 'numeric', timeZone: 'UTC' }).format(d);
}

export function fmtNumber(n, opts) {
  return new Intl.NumberFormat(lang, opts).format(n);
}

export function fmtDuration(ms) {
  if (ms == null || isNaN(ms)) return '';
  const s = ms / 1000;
  if (s < 60) return t('duration.seconds', { n: fmtNumber(s, { maximumFractionDigits: 1 }) });
  const m = s / 60;
  if (m < 60) return t('duration.minutes', { n: fmtNumber(m, { maximumFractionDigits: 1 }) });
  const hr = m / 60;
  if (hr < 48) return t('duration.hours', { n: fmtNumber(hr, { maximumFractionDigits: 1 }) });
  return t('duration.days', { n: fmtNumber(hr / 24, { maximumFractionDigits: 1 }) });
}
