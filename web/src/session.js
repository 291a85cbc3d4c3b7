// Who is signed in: {name, user, role, groups}.
export const session = { user: null, name: null, role: null, groups: [] };

export function setSession(me) {
  session.user = me ? me.user || me.name : null;
  session.name = me ? me.name || me.user : null;
  session.role = me ? me.role : null;
  session.groups = (me && me.groups) || [];
}

export const isAgent = () => session.role === 'agent';
export const canOperate = () => session.role === 'admin' || session.role === 'designer';
export const canWorkTasks = () => session.role === 'admin' || session.role === 'agent';
