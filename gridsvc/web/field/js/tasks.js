// 任务: an enforcement officer's or a department handler's open dispatches, by deadline. While the
// app is open, the live channel (Socket.IO, docs/events.md) brings each new dispatch at once: the
// phone vibrates and beeps, the 任务 tab shows a badge, and a banner asks for 收到, which
// acknowledges the dispatch (the commander's screen sees it picked up).

import { api, ApiError, Offline, renewTokens } from "./api.js";
import { read, write } from "./store.js";
import { showWorkList } from "./worklist.js";
import { refusal } from "./words.js";
import { $ } from "./dom.js";

const DISPATCH_KINDS = new Set(["case.dispatched", "case.escalated", "case.dispatch_reminder"]);

function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 880;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.3);
  } catch { /* no sound allowed before the user touched the page: the vibration and the badge remain */ }
}

export class Tasks {
  constructor(context, handlers) {
    this.context = context;
    this.handlers = handlers; // {onOpenCase(trackingNo)}
    this.unacknowledged = new Map(); // seq -> event
    this.connect();
  }

  opened() { this.refresh(); }

  /** The task list again; a trouble reading it is said above the list, which keeps what it had. */
  refresh() {
    return showWorkList("/mobile/v1/my/tasks", "my_tasks", $("task-list"), $("tasks-note"),
      { config: this.context.config, onOpen: (number, row) => this.handlers.onOpenCase(number, row) })
      .catch((error) => {
        if (!(error instanceof ApiError)) throw error;
        $("tasks-note").textContent = refusal(error);
      });
  }

  connect() {
    this.socket = io({
      transports: ["websocket", "polling"],
      auth: (send) => Promise.all([read("tokens"), read("since")])
        .then(([tokens, since]) => send({ token: tokens?.access_token, ...(since !== undefined ? { since } : {}) })),
    });
    this.socket.on("event", (event) => this.arrived(event));
    this.socket.on("live", ({ seq }) => { write("since", seq); $("tasks-live").textContent = "实时接收中"; });
    this.socket.on("resync", ({ seq }) => { write("since", seq); this.refresh(); });
    this.socket.on("disconnect", () => { $("tasks-live").textContent = "实时通道已断开，正在重连"; });
    this.socket.on("connect_error", async (error) => {
      $("tasks-live").textContent = "实时通道未连接";
      if (error?.data?.code === "sign_in_refused") {
        if (await renewTokens().catch(() => null)) setTimeout(() => this.socket.connect(), 1000);
      }
    });
  }

  arrived(event) {
    write("since", event.seq);
    if (DISPATCH_KINDS.has(event.kind) && event.data?.ack_required) {
      this.unacknowledged.set(event.seq, event);
      navigator.vibrate?.([200, 100, 200]);
      beep();
      this.showNotice();
    }
    if (event.kind.startsWith("case.")) this.refresh();
  }

  showNotice() {
    $("tasks-badge").hidden = this.unacknowledged.size === 0;
    $("tasks-badge").textContent = String(this.unacknowledged.size);
    $("dispatch-notices").replaceChildren(...[...this.unacknowledged.values()].map((event) => {
      const notice = document.createElement("li");
      notice.className = "notice";
      notice.dataset.seq = String(event.seq);
      const c = event.data.case;
      const category = this.context.startup.catalogue.categories.find((x) => x.code === c.category_code);
      notice.textContent = `新派遣：${category ? category.name_zh : c.category_code} ${c.tracking_no}`;
      const ack = document.createElement("button");
      ack.type = "button";
      ack.className = "primary";
      ack.textContent = "收到";
      ack.addEventListener("click", async () => {
        ack.disabled = true;
        try {
          await this.acknowledge(event.seq);
        } catch (error) {
          if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
          ack.disabled = false;
          ack.textContent = error instanceof Offline ? "无网络，点此重试收到" : `${refusal(error)}，点此重试`;
        }
      });
      notice.append(ack);
      return notice;
    }));
  }

  async acknowledge(seq) {
    await api(`/mobile/v1/events/${seq}/ack`, { method: "POST" });
    this.unacknowledged.delete(seq);
    this.showNotice();
  }
}
