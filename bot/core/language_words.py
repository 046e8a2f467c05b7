"""The words ``bot.core.language`` tells languages apart by.

Each list holds function words and everyday workplace words of one language that casual English
chat does not use. Words English borrows, abbreviates or names things with are left out on
purpose, however common they are in their own language: "die", "was", "will", "per", "come",
"con", "el", "la", "los", "las", "son", "est", "et", "pas", "non", "mit", "von", "um", "em", "com"
(from ".com"), "dag", "week", "ai", "ci", "vi", "ca" (so "ça" too: words are compared without
accents). One-letter words count for English alone ("i", "a"). A word may belong to several
languages.
"""

from __future__ import annotations

ENGLISH = """
a about after again already also am an and another any anyone anything are aren't at back be
been before being between both but by can can't cannot cant claim company could couldn't cover
covered day days did didn't do does doesn't don't dont down during each else every expense
expenses find for from get gets getting go going got had has hasn't have haven't he hello help
her here hey hi him his home how how's i i'd i'll i'm i've if im in into is isn't it it's its
ive just know laptop last leave less long manager many may me mine month more most much must my
need needs new next no not now of off office ok okay on one only onto or other our out over paid
pay please pls plz policy really request same shall she should shouldn't sick so some someone
something still take team than thank thanks that the their them then there there's these they
this those thx time to today tomorrow too two under until up ur us use vacation very want
wants was wasn't we week weeks were what what's whats when where where's which who who's whose
why will with won't work working would wouldn't yeah year yes yesterday you you're your yours
"""

PORTUGUESE = """
ainda amanhã ano anos como computador de depois despesas deve devem devo dias direito doença ela
ele eles empresa equipa equipe essa esse esta este estou está estão fazer faço férias gestor
gostaria hoje isso isto licença mais maternidade meses meu meus minha minhas muito mês não
obrigada obrigado olá onde ontem ou para paternidade pedido pedir pela pelo perdi perdido pode
podem por porque portátil posso preciso quais qual quando quanta quantas quanto quantos que
quero reembolso salário semana semanas seu sua também temos tenho ter trabalho uma umas uns
viagem você vocês
"""

SPANISH = """
ahora ayer ayuda año años aún buenas buenos computadora corresponde corresponden cuál cuáles
cuándo cuánta cuántas cuánto cuántos cómo de debe debo después días dónde empleado empresa en
enfermedad equipo esa ese esta este esto estos estoy está están gastos gracias hacer hago hola
hoy jefe maternidad mañana meses muy más necesito nosotros ordenador para paternidad perdido
perdí permiso por porque portátil puede pueden puedo que quiero quisiera qué reembolso salario
semana semanas solicitar sueldo también tenemos tengo tiene tienen todavía trabajo una unas unos
usted ustedes vacaciones viaje
"""

GERMAN = """
aber arbeit auch auf bei bekomme bekommen bist bitte danke darf das dass der dich du ein eine
einem einen einer elternzeit erstattung euch firma gehalt gestern gestohlen gibt gilt guten habe
haben hallo hast heute hilfe ich ihnen ihr ist ja jahr jahre jahres jetzt kann kannst kein keine
kosten krank krankmeldung können mache machen mehr mein meine meinem meinen meiner mich mir
mitarbeiter monat monate morgen muss musst möchte müssen nach nein nicht noch nur oder reise
schon sich sie sind soll sollte tage tun und uns unser unsere unternehmen urlaub urlaubstage
verloren viel viele vorgesetzte wann warum weil welche welcher welches wenn wer werden wie
wieviel wir wird woche wochen zahlt zu
"""

FRENCH = """
année ans aujourd'hui aussi avec avez avoir avons c'est ceci cela chez combien comment congé
congés d'un d'une dans de demain devez dois doit elle elles employé en encore entreprise faire
fais fait faut frais hier ils j'ai je jour jours l'on maintenant maladie maternité merci mes
mois n'est nous ont ordinateur ou où paternité perdu peut peux pourquoi pouvez puis qu'est quand
que quel quelle quelles quels qui remboursement responsable s'il salaire salut semaine semaines
ses sont suis sur tes travail très une veux vos votre voudrais vous voyage équipe
"""

ITALIAN = """
abbiamo adesso aiuto anche ancora anni anno azienda bisogno buongiorno che ciao congedo cosa
degli della delle deve devo dipendente dobbiamo domani dopo faccio ferie giorni giorno già
grazie hanno ieri lavoro loro lui malattia maternità mese mesi mie miei mio molto noi nostra
nostro oggi paternità perché permesso perso portatile possiamo posso puoi può quale quali
quando quanta quante quanti quanto quella quello questa questo rimborso rubato settimana
settimane siamo siete smarrito sono spese spetta spettano squadra stipendio sua suo tua tuo una
viaggio voglio voi vorrei
"""

DUTCH = """
aan alsjeblieft alstublieft bedankt bedrijf bij daar dagen de deze dit doen een en geen gestolen
gisteren haar hallo heb hebben hebt heeft het hier hoeveel hulp ik jaar jaren je jij jou jouw
jullie kan kosten krijg krijgen kun kunnen kunt kwijt leidinggevende maand maanden maar
medewerker meer mijn moet moeten mogen morgen naar niet nog nu onze ook ouderschapsverlof reis
salaris uit vakantie vakantiedagen vandaag vergoeding verlof verloren voor waar waarom wanneer
weken welke werk wie wij wil ziek zij zijn
"""

# Elided articles and pronouns at the start of a word ("l'ordinateur", "dell'anno"); the rest of
# the word is read on its own as well.
ELISIONS = {
    "fr": ("l'", "j'", "qu'"),
    "it": ("l'", "dell'", "nell'", "all'", "dall'", "sull'", "un'"),
}

# Letters that lend a little weight to a language when a word it does not list carries them.
ACCENTS = {
    "pt": "ãõçâêôáéíóúà",
    "es": "ñáéíóúü",
    "de": "äöüß",
    "fr": "àâçéèêëîïôûùœ",
    "it": "àèéìòù",
    "nl": "ëï",
}

# Punctuation only one language writes.
PUNCTUATION = {"es": "¿¡"}
