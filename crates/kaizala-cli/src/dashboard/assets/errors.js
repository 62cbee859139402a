// Records what goes wrong on this page — uncaught errors, rejected promises,
// resources that fail to load, Content-Security-Policy violations and
// console.error calls — in the hidden #page-errors element, so that the
// end-to-end test can read them from the DOM. Loaded before everything else.
"use strict";

(() => {
  const pending = [];

  function element() {
    return document.getElementById("page-errors");
  }

  function write(line) {
    const target = element();
    target.append(`${line}\n`);
    target.dataset.count = String(Number(target.dataset.count || "0") + 1);
  }

  function record(kind, message) {
    const line = `${kind}: ${message}`;
    if (element()) {
      write(line);
    } else {
      pending.push(line);
    }
  }

  function describe(reason) {
    if (reason instanceof Error) {
      return reason.stack || `${reason.name}: ${reason.message}`;
    }
    return String(reason);
  }

  // Capturing, so that failed loads of <img>, <link> and <script> (which do
  // not bubble) are seen too.
  window.addEventListener(
    "error",
    (event) => {
      const target = event.target;
      if (target instanceof Element) {
        const url = target.getAttribute("src") || target.getAttribute("href") || "";
        record("resource", `${target.localName} ${url} did not load`);
      } else {
        const where = event.filename ? ` (${event.filename}:${event.lineno}:${event.colno})` : "";
        record("error", `${event.message}${where}`);
      }
    },
    true,
  );

  window.addEventListener("unhandledrejection", (event) => {
    record("unhandledrejection", describe(event.reason));
  });

  document.addEventListener("securitypolicyviolation", (event) => {
    record("csp", `${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
  });

  const consoleError = console.error.bind(console);
  console.error = (...args) => {
    record("console.error", args.map(describe).join(" "));
    consoleError(...args);
  };

  document.addEventListener("DOMContentLoaded", () => {
    pending.splice(0).forEach(write);
  });
})();
