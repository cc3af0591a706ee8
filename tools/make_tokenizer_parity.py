"""Writes tests/data/tokenizer_parity.jsonl: hostile mixed text + Hugging Face's ids for it.

Run once (needs the `tokenizers` package and the fetched datasets, no torch):

    .venv/bin/python tools/make_tokenizer_parity.py

Each output line is {"kind": ..., "text": str} or {"kind": ..., "b64": base64 of raw bytes
(invalid UTF-8)}, plus "ids": the ids of all-MiniLM-L6-v2's tokenizer.json (HF
BertTokenizerFast, no special tokens). Raw bytes are given to HF decoded with
errors="replace" (U+FFFD, which BERT's cleaning drops) - the behaviour BertTokenizer defines.
"""

import base64
import csv
import glob
import json
import os
import random
import sys

HANDWRITTEN = [
    # --- English prose / punctuation ---
    "The quick brown fox jumps over the lazy dog.",
    "Don't stop-believing; it's 3:45 p.m. (approx.) -- isn't it?!",
    'Mr. O\'Neill paid $1,234.56 for 2.5kg of "premium" coffee @ 10% off.',
    "e-mail me at john.doe+spam@example.co.uk or visit https://example.com/a?b=c&d=e#frag",
    "He said: «bonjour» and left… then ‘quoted’ “smart quotes” — em dash – en dash.",
    "   leading and trailing whitespace   ",
    "",
    " ",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeeds",
    "ALL CAPS SHOUTING AND MiXeD cAsE WoRdS",
    "C++ and C# are languages; so is F#. x<y>=z ^_^ ~tilde~ `backtick` |pipe| {braces} [brackets]",
    "1st 2nd 3rd 4th 100th 1,000,000 3.14159 -42 +7 1e-10 0xFF",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious" * 3,
    "a" * 99,
    "a" * 100,
    "b" * 101,
    "word " + "x" * 150 + " word",
    "é" * 60,
    "é" * 101,
    "ж" * 99 + " " + "ж" * 101,
    # --- product reviews with HTML ---
    "<p>Great product!!! <b>5 stars</b>&nbsp;would buy again &amp; recommend.</p>",
    "<div class=\"review\"><span style='color:red'>Terrible</span> &lt;3 broke after 2 "
    "days<br/>Returned it.</div>",
    "I bought this for my daughter &#8212; she LOVES it!!!<br><br>Pros: cheap, cute<br>Cons: "
    "battery :(",
    '<a href="https://www.amazon.com/dp/B00X4WHP5E?ref=cm_cr">link</a> ★★★★☆ 4/5 — ok-ish',
    "Size: 10.5 US | Color: Black/White | Verified Purchase ✔️ Fits true to size 👍👍",
    "<script>alert('xss')</script><img src=x onerror=alert(1)>",
    'Don&#39;t waste your money... the <i>"waterproof"</i> case leaked 💧💧 on day one.',
    "5.0 out of 5 stars\u00a0Perfect!\u00a0Arrived early; packaging was fine.",
    "<table><tr><td>Price</td><td>€49,99</td></tr><tr><td>Rating</td><td>4½</td></tr></table>",
    "Reviewed in the United Kingdom on 3 March 2021 – £12.99 – 2 people found this helpful",
    # --- Chinese technical writing with formulas and code ---
    "深度学习模型的损失函数定义为 L(θ) = -∑ᵢ yᵢ log(ŷᵢ)，其中 θ 为参数。",
    "使用 TensorFlow 2.x 训练 BERT 模型：`model.fit(x, y, epochs=3)`，学习率设为 2e-5。",
    "公式：E = mc²，速度 v = Δx / Δt ≈ 3×10⁸ m/s；注意单位换算！",
    "在 Python 中，`def f(x): return x ** 2` 定义了平方函数；调用 f(3) 返回 9。",
    "注意力机制：Attention(Q, K, V) = softmax(QKᵀ / √d_k) V。",
    "数据集包含 38,158 条推文（负面／中性／正面），编码为 latin-1。",
    "《机器学习》第三章：线性模型——最小二乘法与梯度下降【重点】",
    "“引号”和‘单引号’以及「日文引号」『双层』、顿号。句号！问号？",
    "代码示例：for i in range(10): print(i)  # 打印 0 到 9",
    "矩阵乘法 C_{ij} = Σ_k A_{ik} B_{kj}，复杂度 O(n³)。",
    "中文English混合text测试123数字",
    "繁體中文：機器學習與自然語言處理的應用。",
    "日本語のテキスト：東京は日本の首都です。カタカナ、ひらがな、漢字。",
    "한국어 텍스트: 자연어 처리는 재미있습니다.",
    "𠀀𠀁 rare CJK extension B chars 𪜀 and 〇 ideographic zero",
    "⺀⺁ CJK radicals ㄅㄆ bopomofo ㈠㈡ parenthesized ideographs",
    # --- accents ---
    "Café naïve résumé coöperate façade jalapeño São Paulo Zürich Ångström",
    "Ça va? Élève, ÉCOLE, Œuvre, Æsir, straße, STRASSE",
    "Tiếng Việt có nhiều dấu: Nguyễn Phú Trọng, Hà Nội, Đà Nẵng",
    "İstanbul ıslak IŞIK ğüşöç Türkçe",
    "Ελληνικά: Αθήνα, ΆΈΉΊΌΎΏ, ς σ Σ",
    "Русский текст: Ёлка, ЁЖИК, й Й",
    "Polski: Zażółć gęślą jaźń. Čeština: Příliš žluťoučký kůň.",
    "combining: e\u0301 a\u0308 n\u0303 o\u0302\u0323 (decomposed) vs é ä ñ ộ",
    "Hindi: नमस्ते दुनिया, हिन्दी भाषा",
    "Arabic: مرحبا بالعالم، اللغة العربية",
    "Hebrew: שָׁלוֹם עוֹלָם",
    "Thai: สวัสดีชาวโลก ภาษาไทย",
    "ﬁ ligature ﬂ ﬀ ﬃ ǅ ǈ ǋ titlecase digraphs",
    "ℌ ℍ ℕ ℝ ℤ 𝐀𝐁𝐂 𝒜 math letters ① ② ⅷ Ⅻ",
    # --- emoji ---
    "I love it 😍😍😍 so much!!! 🎉🎉",
    "Family: 👨‍👩‍👧‍👦 skin tones: 👍🏻👍🏿 flags: 🇺🇸🇩🇪🇯🇵 keycap: 1️⃣ #️⃣",
    "❤️ ♥ ☺️ ☹ ✌️ ✨ 🔥 💯 🙏🏽 🤷‍♂️",
    "emoji😀glued😀to😀words",
    # --- full-width ---
    "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ：１２３４５！？（ｔｅｓｔ）",
    "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ　ＡＢＣ　ａｂｃ",
    "半角ｶﾀｶﾅ ﾃｽﾄ and full-width yen ￥100 ￡ ￠",
    # --- control chars, NUL, zero-width, odd whitespace ---
    "NUL\x00in\x00the\x00middle",
    "bell\x07backspace\x08escape\x1b[31mred\x1b[0m",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom",
    "soft\u00adhyphen and\u2060word joiner",
    "no\u00a0break\u00a0space and\u2009thin\u2002en\u2003em\u3000ideographic",
    "line\u2028separator paragraph\u2029separator next\u0085line",
    "rtl\u200emark\u200f and \u202aembedding\u202c \u2066isolate\u2069",
    "private use \ue000\uf8ff chars",
    "replacement \ufffd char and noncharacter \ufdd0 \uffff",
    "variation selectors: ︎text︎ ☃\ufe0e ☃\ufe0f",
    "\x7f DEL \x80 \x9f C1 controls",
    "mixed\x01\x02\x03\x04\x05\x06controls",
    "ideographic\u3000space\u3000between",
    "ogham\u1680space mongolian\u180evowel",
    # --- assorted symbols ---
    "Math: ∀x∈ℝ, ∃y: x²+y²≤1 ⇒ |x|≤1; ∫₀¹ f(x)dx ≠ ∞ ± √2 ∂f/∂x",
    "Currency: $ € £ ¥ ₹ ₽ ₿ ¢ ₩ ₪ ฿",
    "Arrows → ← ↑ ↓ ⇔ and boxes ┌─┐│└┘ and bullets • ◦ ▪ ‣",
    "Degree 25°C, 77°F, ±0.5‰, §3.2, ¶4, ©2024 ®™",
    "Quotes „German“ »guillemets« ‹single› 「corner」",
    "Ellipsis… dashes ‐‑‒–—―, primes ′″‴",
    "IPA: ˈɪŋɡlɪʃ fəˈnɛtɪks ʃʒθð",
    "superscripts x¹²³ⁿ subscripts H₂O CO₂",
    "fractions ½ ¼ ¾ ⅓ ⅔ ⅛",
    "roman Ⅰ Ⅱ Ⅲ Ⅳ ⅰ ⅱ ⅲ",
]

INVALID_UTF8 = [
    b"invalid \xff\xfe bytes",
    b"truncated multibyte \xe4\xb8",
    b"lone continuation \x80\x81 here",
    b"overlong \xc0\xaf slash",
    b"surrogate \xed\xa0\x80 encoded",
    b"caf\xe9 latin-1 accent",
    b"\xf0\x9f\x98 broken emoji then ok \xf0\x9f\x98\x80",
    b"ok text \xc3\xa9 then bad \xc3 end",
]


def real_lines(rng):
    from bert_tf.public_data import dataset_path

    out = []
    # Tweets: latin-1 file (mojibake included on purpose: it is real).
    with open(dataset_path("tweets"), encoding="latin-1", newline="") as f:
        tweets = [row["text"] for row in csv.DictReader(f)]
    out += [("tweet", t) for t in rng.sample(tweets, 150)]
    # State of the Union: paragraphs.
    paras = []
    for path in sorted(glob.glob(os.path.join(dataset_path("sotu"), "*.txt"))):
        with open(path, encoding="utf-8") as f:
            paras += [p.strip() for p in f.read().split("\n") if len(p.strip()) > 20]
    out += [("sotu", p[:1500]) for p in rng.sample(paras, 100)]
    # Spam / ham mail bodies: raw lines (HTML, headers, odd bytes decoded as latin-1).
    mails = sorted(glob.glob(os.path.join(dataset_path("spam"), "*", "*.txt")))
    for path in rng.sample(mails, 60):
        with open(path, encoding="latin-1") as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
        if lines:
            start = rng.randrange(len(lines))
            out.append(("mail", "\n".join(lines[start : start + 3])))
    # Moby Dick paragraphs.
    paras = []
    for path in sorted(glob.glob(os.path.join(dataset_path("moby_dick"), "chapter_*.txt"))):
        with open(path, encoding="utf-8") as f:
            paras += [p.strip() for p in f.read().split("\n\n") if len(p.strip()) > 20]
    out += [("moby_dick", p[:1500]) for p in rng.sample(paras, 40)]
    return out


def main(out_path="tests/data/tokenizer_parity.jsonl"):
    from tokenizers import Tokenizer

    from bert_tf.public_data import minilm_path

    tok = Tokenizer.from_file(os.path.join(minilm_path(), "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    rng = random.Random(1234)
    rows = [{"kind": "handwritten", "text": t} for t in HANDWRITTEN]
    rows += [{"kind": kind, "text": t} for kind, t in real_lines(rng)]
    rows += [
        {"kind": "invalid_utf8", "b64": base64.b64encode(b).decode("ascii")} for b in INVALID_UTF8
    ]
    for row in rows:
        text = (
            row["text"]
            if "text" in row
            else base64.b64decode(row["b64"]).decode("utf-8", errors="replace")
        )
        row["ids"] = tok.encode(text, add_special_tokens=False).ids
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True) + "\n")
    os.replace(tmp, out_path)
    print(f"wrote {len(rows)} lines to {out_path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
