import { h } from '../dom.js';
import { t } from '../i18n.js';
import { post, get, setCsrf } from '../api.js';
import { setSession, session } from '../session.js';
import { navigate, pageTitle, busy, errorText } from '../ui.js';

export function renderSignIn({ main, query }) {
  const next = query.get('next') || '/tasks';
  if (session.user) { navigate(next); return; }
  const err = h('p', { class: 'error', role: 'alert', hidden: true, id: 'signin-error' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: false });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));
  const form = h('form', {
    class: 'card signin', 'aria-describedby': 'signin-error',
    onsubmit: async (e) => {
      e.preventDefault();
      err.hidden = true;
      await busy(submit, async () => {
        try {
          const r = await post('/v2/crm/session', { username: user.value.trim(), password: pass.value }, { noRedirect: true });
          setCsrf(r.csrfToken);
          let me = r;
          try { me = { ...r, ...(await get('/v2/crm/me', { noRedirect: true })) }; } catch { /* the session answer is enough */ }
          if (!me.csrfToken) me.csrfToken = r.csrfToken;
          setCsrf(me.csrfToken);
          setSession(me);
          navigate(next);
        } catch (ex) {
          err.textContent = ex.status === 401 ? t('signin.wrong') : errorText(ex);
          err.hidden = false;
          pass.select();
        }
      });
    },
  },
  pageTitle(t('signin.title')),
  h('p', { class: 'muted' }, t('signin.intro')),
  h('div', { class: 'field' }, h('label', { for: 'username' }, t('signin.username')), user),
  h('div', { class: 'field' }, h('label', { for: 'password' }, t('signin.password')), pass),
  err,
  submit);
  main.append(form);
  user.focus();
}
