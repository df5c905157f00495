// Who is logged in. The agent and CSRF token live only in memory for the life of the page; a
// reload gets them back from the session cookie through /api/auth/session.
import { reactive, readonly } from "vue";
import { ApiError, api, setCsrfToken, type Agent, type SessionAnswer } from "./api";

const state = reactive<{ agent: Agent | null }>({ agent: null });

export const session = readonly(state);

function remember(answer: SessionAnswer): Agent {
  setCsrfToken(answer.csrf_token);
  state.agent = answer.agent;
  return answer.agent;
}

export async function logIn(email: string, password: string): Promise<Agent> {
  return remember(await api.login(email, password));
}

/** At start-up: pick up the session this browser already has. Null when there is none (401). */
export async function resumeSession(): Promise<Agent | null> {
  try {
    return remember(await api.session());
  } catch (caught) {
    if (caught instanceof ApiError && caught.status === 401) return null;
    throw caught;
  }
}

export async function logOut(): Promise<void> {
  try {
    await api.logout();
  } finally {
    forgetSession();
  }
}

/** Drop what we know locally (after a logout, or when the server says the session ended). */
export function forgetSession(): void {
  setCsrfToken(null);
  state.agent = null;
}
