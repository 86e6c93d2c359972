// The 案卷 (case file) from the case sheet. 打印案卷 shows the file (GET …/file: a page with print CSS
// and its photos inside it) over the screen and opens the print dialog for it alone; 下载PDF saves
// GET …/file.pdf. Both are fetched with the token, like every other request, so the file is shown in a
// frame made from the page's text (srcdoc): the frame runs no script and loads nothing from elsewhere.

import { api, downloadFile } from "./api.js";
import { Overlay } from "./overlay.js";

export class CaseFilePreview {
  constructor() {
    this.layer = new Overlay("case-file", "案卷", `<div class="tools"><b>案卷</b><span class="spacer"></span>
        <button data-print class="primary">打印</button> <button data-close title="关闭 (Esc)">✕</button></div>
      <iframe sandbox="allow-same-origin allow-modals" title="案卷"></iframe>`, (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      this.close();
    });
    this.el = this.layer.el;
    this.frame = this.el.querySelector("iframe");
    this.el.addEventListener("click", (event) => {
      if (event.target.closest("[data-print]")) this.frame.contentWindow.print();
      if (event.target.closest("[data-close]")) this.close();
    });
  }

  /** Show the case's file and print it (the dialog is the browser's: it may also save a PDF). */
  async print(trackingNo) {
    const answer = await api(`/api/v1/cases/${trackingNo}/file`, { raw: true, headers: { Accept: "text/html" } });
    const page = await answer.text();
    this.frame.onload = () => this.frame.contentWindow.print();
    this.frame.srcdoc = page;
    this.el.dataset.trackingNo = trackingNo;
    this.layer.show();
  }

  close() {
    this.layer.hide();
    this.frame.onload = null;
    this.frame.srcdoc = "";
  }
}

/** The case's file as a PDF, saved by the browser. */
export function downloadCaseFile(trackingNo) {
  return downloadFile(`/api/v1/cases/${trackingNo}/file.pdf`, `case-file-${trackingNo}.pdf`);
}
