// VaksinBot web chat: talks to the Rasa server through its REST channel
// (POST {rasa}/webhooks/rest/webhook with {"sender", "message"}).
// No framework and no build step. Bot text is never put into innerHTML: every message is built
// from text nodes, so markup sent by the server is shown as text.
(function () {
  "use strict";

  var DEFAULT_RASA_URL = "http://localhost:5005";
  var SENDER_KEY = "vaksinbot.sender";
  var REQUEST_TIMEOUT_MS = 60000;
  var ERROR_TEXT = "Maaf, layanan sedang tidak dapat dihubungi. Silakan coba lagi.";

  var messages = document.getElementById("messages");
  var typing = document.getElementById("typing");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");

  // The Rasa server: `?rasa=http://127.0.0.1:5005`, else http://localhost:5005.
  function rasaUrl() {
    var param = new URLSearchParams(window.location.search).get("rasa");
    if (param) {
      try {
        var url = new URL(param);
        if (url.protocol === "http:" || url.protocol === "https:") {
          return url.href.replace(/\/+$/, "");
        }
      } catch (ignored) { /* not a URL: use the default */ }
    }
    return DEFAULT_RASA_URL;
  }

  function randomId() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // One conversation per browser tab: the id survives a reload, a new tab starts a new one.
  function senderId() {
    var id = null;
    try { id = window.sessionStorage.getItem(SENDER_KEY); } catch (ignored) { /* storage disabled */ }
    if (!id) {
      id = randomId();
      try { window.sessionStorage.setItem(SENDER_KEY, id); } catch (ignored) { /* storage disabled */ }
    }
    return id;
  }

  var RASA_URL = rasaUrl();
  var SENDER = senderId();
  document.getElementById("server-url").textContent = RASA_URL;

  function safeHttpUrl(value) {
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (ignored) {
      return null;
    }
  }

  // --- rendering text: line breaks (CSS pre-wrap), *bold*, and links ------------------------

  var URL_PATTERN = /https?:\/\/[^\s<>"']+/g;
  // WhatsApp-style bold: *words*, the asterisks next to non-space characters and not inside a word.
  var BOLD_PATTERN = /(^|[^\w*])\*(\S(?:[^*\n]*?\S)?)\*(?![\w*])/g;

  function appendLinked(parent, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (match, offset) {
      var url = match;
      // Punctuation that ends a sentence (or closes a parenthesis around the link) is not part of it.
      while (/[.,;:!?]$/.test(url) || (/\)$/.test(url) && url.indexOf("(") < 0)) {
        url = url.slice(0, -1);
      }
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = url;
      parent.appendChild(link);
      last = offset + url.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderText(parent, text) {
    var last = 0;
    text.replace(BOLD_PATTERN, function (match, before, inner, offset) {
      appendLinked(parent, text.slice(last, offset) + before);
      var strong = document.createElement("strong");
      appendLinked(strong, inner);
      parent.appendChild(strong);
      last = offset + match.length;
      return match;
    });
    appendLinked(parent, text.slice(last));
  }

  // --- bubbles ------------------------------------------------------------------------------

  function scrollToEnd() {
    messages.scrollTop = messages.scrollHeight;
  }

  function addBubble(kind, speaker) {
    var bubble = document.createElement("div");
    bubble.className = "message message--" + kind;
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = speaker + ": ";
    bubble.appendChild(who);
    messages.appendChild(bubble);
    return bubble;
  }

  function addTextBubble(kind, speaker, text) {
    var bubble = addBubble(kind, speaker);
    var body = document.createElement("div");
    body.className = "message__text";
    if (kind === "user") {
      body.textContent = text;
    } else {
      renderText(body, text);
    }
    bubble.appendChild(body);
    scrollToEnd();
    return bubble;
  }

  function imageAlt(url) {
    return /ticket|tiket/i.test(url)
      ? "Tiket vaksinasi: kode QR untuk ditunjukkan kepada petugas"
      : "Gambar dari VaksinBot";
  }

  function addImage(bubble, src) {
    var url = safeHttpUrl(src);
    if (!url) { return; }
    var link = document.createElement("a");
    link.className = "message__image";
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    var img = document.createElement("img");
    img.alt = imageAlt(url);
    img.addEventListener("load", scrollToEnd);
    img.addEventListener("error", function () {
      link.textContent = "Gambar tidak dapat dimuat. Buka gambar";
    });
    img.src = url;
    link.appendChild(img);
    bubble.appendChild(link);
  }

  function addButtons(bubble, buttons) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Pilihan jawaban");
    buttons.forEach(function (button) {
      if (!button || typeof button.title !== "string") { return; }
      var element = document.createElement("button");
      element.type = "button";
      element.className = "choice";
      element.textContent = button.title;
      element.addEventListener("click", function () {
        element.classList.add("choice--picked");
        send(typeof button.payload === "string" ? button.payload : button.title, button.title);
      });
      group.appendChild(element);
    });
    bubble.appendChild(group);
  }

  // Earlier choices would answer an earlier question: once the user answers, they are disabled.
  function disableChoices() {
    var old = messages.querySelectorAll(".choice:not([disabled])");
    for (var i = 0; i < old.length; i++) { old[i].disabled = true; }
  }

  function renderBotMessage(message) {
    var bubble;
    if (typeof message.text === "string" && message.text) {
      bubble = addTextBubble("bot", "VaksinBot", message.text);
    }
    if (typeof message.image === "string" && message.image) {
      bubble = bubble || addBubble("bot", "VaksinBot");
      addImage(bubble, message.image);
    }
    var attachment = message.attachment;
    if (attachment && typeof attachment === "object") { attachment = (attachment.payload || {}).src; }
    if (typeof attachment === "string" && safeHttpUrl(attachment)) {
      bubble = bubble || addBubble("bot", "VaksinBot");
      var body = document.createElement("div");
      body.className = "message__text";
      appendLinked(body, safeHttpUrl(attachment));
      bubble.appendChild(body);
    }
    if (Array.isArray(message.buttons) && message.buttons.length) {
      bubble = bubble || addBubble("bot", "VaksinBot");
      addButtons(bubble, message.buttons);
    }
    scrollToEnd();
  }

  // --- talking to Rasa ----------------------------------------------------------------------

  function post(payload) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller && window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    typing.hidden = false;
    return window.fetch(RASA_URL + "/webhooks/rest/webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: SENDER, message: payload }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (replies) {
      (Array.isArray(replies) ? replies : []).forEach(renderBotMessage);
    }).catch(function () {
      addTextBubble("error", "VaksinBot", ERROR_TEXT);
    }).then(function () {
      if (timer) { window.clearTimeout(timer); }
      typing.hidden = true;
      scrollToEnd();
    });
  }

  // Messages go out one at a time, so the replies stay in the order the user wrote.
  var queue = Promise.resolve();

  function send(payload, shown) {
    disableChoices();
    addTextBubble("user", "Anda", shown);
    queue = queue.then(function () { return post(payload); });
    input.focus();
    return queue;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text, text);
  });
}());
