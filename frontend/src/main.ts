import { createApp } from "vue";
import App from "./App.vue";
import { whenUnauthenticated } from "./api";
import { live } from "./live";
import { router } from "./router";
import { loadDirectory } from "./directory";
import { forgetSession, resumeSession } from "./session";
import "./styles.css";

// The server ended the session (expiry, logout elsewhere, deactivation): back to the login.
function sessionEnded(): void {
  live.stop();
  forgetSession();
  const current = router.currentRoute.value;
  if (current.name !== "login") void router.push({ name: "login", query: { next: current.fullPath, expired: "1" } });
}

whenUnauthenticated(sessionEnded);
live.whenSessionEnds(sessionEnded);

// A reload keeps the login: the session cookie is still there, only the page's memory is new.
// This runs before the router starts, so its guard already knows who is logged in.
async function start(): Promise<void> {
  try {
    if (await resumeSession()) {
      await loadDirectory();
      live.start();
    }
  } catch (error) {
    console.warn("could not resume the session; showing the login", error);
    forgetSession();
  }
  createApp(App).use(router).mount("#app");
}

void start();
