import { createApp } from "vue";
import App from "./App.vue";
import { whenUnauthenticated } from "./api";
import { live } from "./live";
import { router } from "./router";
import { forgetSession } from "./session";
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

createApp(App).use(router).mount("#app");
