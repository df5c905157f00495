// Who is logged in. The agent and CSRF token exist only in memory for the life of the page.
import { reactive, readonly } from "vue";
import { api, setCsrfToken, type Agent } from "./api";

const state = reactive<{ agent: Agent | null }>({ agent: null });

export const session = readonly(state);

export async function logIn(email: string, password: string): Promise<Agent> {
  const answer = await api.login(email, password);
  setCsrfToken(answer.csrf_token);
  state.agent = answer.agent;
  return answer.agent;
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
