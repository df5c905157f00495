// Agents and teams, loaded once per login: the ticket list and properties show their names.
import { reactive } from "vue";
import { api, type Agent, type Team } from "./api";

export const directory = reactive<{ agents: Agent[]; teams: Team[]; loaded: boolean }>({
  agents: [],
  teams: [],
  loaded: false,
});

export async function loadDirectory(): Promise<void> {
  const [agents, teams] = await Promise.all([api.listAgents(), api.listTeams()]);
  directory.agents = agents.sort((a, b) => a.name.localeCompare(b.name));
  directory.teams = teams.sort((a, b) => a.name.localeCompare(b.name));
  directory.loaded = true;
}

export function agentName(id: number | null | undefined): string {
  if (id == null) return "";
  return directory.agents.find((agent) => agent.id === id)?.name ?? `Agent ${id}`;
}

export function teamName(id: number | null | undefined): string {
  if (id == null) return "";
  return directory.teams.find((team) => team.id === id)?.name ?? `Team ${id}`;
}
