/*
 * Webhook console: the "Copy" button next to a secret shown once. Without JavaScript the
 * secret is still in a read-only field to select and copy by hand.
 */
(function () {
  "use strict";

  function say(statusId, text) {
    var status = statusId && document.getElementById(statusId);
    if (status) {
      status.textContent = text;
    }
  }

  function copyFrom(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    input.focus();
    input.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var statusId = button.getAttribute("data-copy-status");
    if (!input) {
      return;
    }
    copyFrom(input).then(
      function () {
        say(statusId, "Copied to the clipboard.");
      },
      function () {
        input.focus();
        input.select();
        say(statusId, "Copying is blocked here: the secret is selected, press Ctrl+C (⌘C) to copy it.");
      }
    );
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });
})();
