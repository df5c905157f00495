// Hash history: the server then only ever serves "/" (index.html), so deep links need no
// server-side fallback route and every page gets the same headers.
import { createRouter, createWebHashHistory } from "vue-router";
import { session } from "./session";
import DashboardView from "./views/DashboardView.vue";
import LoginView from "./views/LoginView.vue";
import TicketListView from "./views/TicketListView.vue";
import TicketView from "./views/TicketView.vue";
import WorkspaceLayout from "./views/WorkspaceLayout.vue";

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/login", name: "login", component: LoginView, meta: { public: true } },
    {
      path: "/",
      component: WorkspaceLayout,
      children: [
        { path: "", redirect: { name: "queue", params: { queue: "mine" } } },
        { path: "queues/:queue", name: "queue", component: TicketListView },
        { path: "search", name: "search", component: TicketListView },
        { path: "dashboard", name: "dashboard", component: DashboardView },
        { path: "tickets/:id(\\d+)", name: "ticket", component: TicketView, props: (route) => ({ id: Number(route.params.id) }) },
      ],
    },
    { path: "/:unknown(.*)", redirect: "/" },
  ],
});

router.beforeEach((to) => {
  // A reload on the login page with a live session (resumed at start-up) goes straight in.
  if (to.name === "login" && session.agent) return { path: "/" };
  if (!to.meta.public && !session.agent) {
    return { name: "login", query: to.fullPath === "/" ? {} : { next: to.fullPath } };
  }
  return true;
});
