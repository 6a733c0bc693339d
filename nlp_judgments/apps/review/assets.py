"""The review page's stylesheet and script, inlined into every page (the page works offline).

The script only adds behaviour: scrolling to and flashing a field's evidence, the document
filter, the label toggles. Everything shown is rendered in Python.

Not here: the per-label colours (``highlight.Labels.css``, generated for the labels present).
"""

CSS = """
:root{--ink:#1f2328;--muted:#6b7280;--line:#e5e7eb;--paper:#fff;--bg:#f6f7f9;--accent:#1f5fa8;
--cjk:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","WenQuanYi Micro Hei","WenQuanYi Zen Hei",
"PingFang SC","Microsoft YaHei",sans-serif}
*{box-sizing:border-box}
html{scroll-padding-top:16px}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,var(--cjk)}
.layout{display:flex;align-items:flex-start}
nav.side{position:sticky;top:0;height:100vh;width:236px;flex:none;overflow:auto;padding:14px 12px;
background:#fbfbfc;border-right:1px solid var(--line)}
.brand{font-weight:600;font-size:15px;margin-bottom:10px}.brand span{color:var(--muted);font-weight:400}
nav h3{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:14px 0 6px}
.legend{display:flex;flex-direction:column;gap:3px}
.chip{display:flex;align-items:center;gap:6px;width:100%;border:0;background:none;padding:3px 6px;border-radius:5px;
font:12px/1.4 inherit;color:var(--ink);cursor:pointer;text-align:left}
.chip:hover{background:#eef0f3}.chip i{width:12px;height:12px;border-radius:3px;background:var(--hl);
border-bottom:3px solid var(--ac);flex:none}.chip small{color:var(--muted);font-family:var(--cjk)}
.chip .n{margin-left:auto;color:var(--muted);font-variant-numeric:tabular-nums}
.chip[aria-pressed=false]{opacity:.45}.chip[aria-pressed=false] i{background:none}
#filter{width:100%;padding:5px 8px;border:1px solid var(--line);border-radius:6px;font:inherit;margin-bottom:6px}
ol.docs{list-style:none;margin:0;padding:0}
ol.docs li{display:flex;align-items:center;border-radius:5px}
ol.docs a{flex:1;padding:3px 6px;color:var(--ink);text-decoration:none;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap}
ol.docs li:hover,ol.docs li.current{background:#e8eef7}
ol.docs .n{color:var(--muted);font-size:11px;padding-right:6px}
ol.docs li.err a,ol.docs li.err .n{color:#b42318}
main{flex:1;min-width:0;padding:18px 22px 60vh}
.summary h1{font-size:20px;margin:0 0 2px}
.sub{color:var(--muted);margin:0}
.note{color:#7a5b00;background:#fff8e1;border:1px solid #f3e2a5;border-radius:6px;padding:6px 10px}
.notext{background:var(--paper);border:1px solid var(--line);border-left:4px solid #d9a300;border-radius:8px;
padding:8px 14px;margin-top:12px}.notext ul{margin:4px 0;padding-left:18px;color:var(--muted)}
article.doc{background:var(--paper);border:1px solid var(--line);border-radius:10px;margin:18px 0;
box-shadow:0 1px 2px rgba(0,0,0,.04);content-visibility:auto;contain-intrinsic-size:auto 800px}
article.doc>header{padding:12px 18px;border-bottom:1px solid var(--line)}
article.doc h2{font-size:16px;margin:0}
article.doc h2,.doc .sub{font-family:system-ui,sans-serif,var(--cjk)}
article.error{border-color:#f1b8b3;background:#fff7f6}
.badge{font-size:11px;font-weight:600;color:#fff;background:#b42318;border-radius:10px;padding:1px 8px;
vertical-align:middle}
.reason{margin:0;padding:12px 18px;color:#7a1b12;font-family:ui-monospace,Menlo,Consolas,monospace;
white-space:pre-wrap;word-break:break-word}
ul.notes{margin:6px 0 0;padding-left:18px;color:#8a5a00;font-size:12px}
.doc-body{display:grid;grid-template-columns:minmax(0,1fr) 330px}
.text{padding:16px 20px;font:16px/2.05 var(--cjk);white-space:pre-wrap;word-break:break-all;
border-right:1px solid var(--line)}
.text:empty::before{content:"(empty text)";color:var(--muted)}
mark.ent{background:var(--hl);color:inherit;border-bottom:2px solid var(--ac);border-radius:3px;padding:1px 0;
-webkit-box-decoration-break:clone;box-decoration-break:clone}
mark.ent mark.ent{border-bottom-width:3px}
.ev{border-bottom:1px dashed #9aa3af}
.flash{animation:flash 1.6s ease-out}
@keyframes flash{0%,35%{outline:3px solid #f59e0b;outline-offset:1px;background-color:#fde68a}
100%{outline:3px solid transparent;outline-offset:1px}}
aside.record{padding:14px 16px;position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;
font-size:13px;background:#fcfcfd;border-radius:0 0 10px 0}
aside.record h4{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:14px 0 6px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 10px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;min-width:0;font-family:var(--cjk)}
.defendant{border:1px solid var(--line);border-radius:8px;padding:8px 10px;margin-bottom:8px;background:var(--paper)}
.defendant .name{font-size:15px;font-weight:600;margin-bottom:4px;font-family:var(--cjk)}
.defendant .who{font-weight:400;font-size:12px;color:var(--muted);margin-left:8px}
a.fld{color:var(--accent);text-decoration:none;border-bottom:1px dotted currentColor;cursor:pointer}
a.fld:hover{background:#e8eef7}.fld.none{color:var(--muted)}.fld.short{white-space:nowrap}
.many{font-size:10px;color:var(--muted);margin-left:1px;white-space:nowrap}
.detail{color:var(--muted)}
.chips{display:flex;flex-wrap:wrap;gap:4px}.chips .fld{font-family:var(--cjk);background:#eef3fa;border:0;
border-radius:10px;padding:1px 8px}
details{margin-top:10px}summary{cursor:pointer;font-size:11px;text-transform:uppercase;letter-spacing:.06em;
color:var(--muted)}
ul.flds{margin:4px 0;padding-left:16px;font-family:var(--cjk)}
.warnings ul{margin:4px 0;padding-left:16px;color:#8a5a00}
.count{font-weight:400;color:var(--muted);font-size:11px}
.muted{color:var(--muted)}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
@media (max-width:1000px){.doc-body{grid-template-columns:1fr}.text{border-right:0}
aside.record{position:static;max-height:none;border-top:1px solid var(--line)}nav.side{width:190px}}
"""

JS = """
(function(){
  function flash(el){el.classList.remove('flash');void el.offsetWidth;el.classList.add('flash');}
  document.addEventListener('animationend',function(e){e.target.classList.remove('flash');});
  document.addEventListener('click',function(e){
    var a=e.target.closest('a.fld[data-evidence]');
    if(a){
      e.preventDefault();
      var doc=a.closest('article'),keys=a.dataset.evidence.split(' ');
      var i=(+a.dataset.next||0)%keys.length;  /* repeated clicks walk the mentions */
      var target=doc.querySelector('[data-span="'+keys[i]+'"]');
      if(!target)return;
      a.dataset.next=i+1;
      target.scrollIntoView({behavior:'smooth',block:'center'});
      keys.forEach(function(k){doc.querySelectorAll('[data-span="'+k+'"]').forEach(flash);});
      return;
    }
    var chip=e.target.closest('.chip[data-k]');
    if(chip){
      var on=chip.getAttribute('aria-pressed')!=='false';
      chip.setAttribute('aria-pressed',on?'false':'true');
      document.body.classList.toggle('hide-'+chip.dataset.k,on);
    }
  });
  var items=[].slice.call(document.querySelectorAll('ol.docs li'));
  document.getElementById('filter').addEventListener('input',function(){
    var q=this.value.trim().toLowerCase();
    items.forEach(function(li){var a=li.firstChild;
      li.hidden=q&&(a.textContent+' '+(a.title||'')).toLowerCase().indexOf(q)<0;});
  });
  if('IntersectionObserver' in window){  /* mark the document being read in the list */
    var byHref={};items.forEach(function(li){byHref[li.firstChild.getAttribute('href').slice(1)]=li;});
    var io=new IntersectionObserver(function(entries){entries.forEach(function(en){
      var li=byHref[en.target.id];if(li)li.classList.toggle('current',en.isIntersecting);});},
      {rootMargin:'-30% 0px -65% 0px'});
    document.querySelectorAll('article.doc').forEach(function(d){io.observe(d);});
  }
  document.documentElement.dataset.ready='1';  /* the script ran to the end */
})();
"""
